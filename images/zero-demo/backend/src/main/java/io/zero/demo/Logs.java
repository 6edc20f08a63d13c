package io.zero.demo;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.logging.FileHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.StreamHandler;

/** java.util.logging set-up: one line per record, to stdout and to logs/zero-demo.log. */
final class Logs {

    static final Path LOG_DIR = Path.of("logs");
    static final Path LOG_FILE = LOG_DIR.resolve("zero-demo.log");

    private Logs() {
    }

    /**
     * Replaces the root logger's handlers with a stdout handler and a file handler.
     * If {@code logs/} cannot be created or written, logging continues on stdout only
     * and a warning says so.
     */
    static void configure() {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        root.setLevel(Level.INFO);
        Formatter formatter = new LineFormatter();

        Handler stdout = new StdoutHandler(formatter);
        root.addHandler(stdout);

        try {
            Files.createDirectories(LOG_DIR);
            FileHandler file = new FileHandler(LOG_FILE.toString(), 0, 1, true);
            file.setEncoding("UTF-8");
            file.setFormatter(formatter);
            file.setLevel(Level.ALL);
            root.addHandler(file);
        } catch (IOException | SecurityException e) {
            Logger.getLogger("zero-demo").log(Level.WARNING, "cannot write " + LOG_FILE.toAbsolutePath()
                    + " (" + e + "); logging to stdout only");
        }
    }

    /** StreamHandler on System.out that flushes every record and never closes System.out. */
    private static final class StdoutHandler extends StreamHandler {
        StdoutHandler(Formatter formatter) {
            super(System.out, formatter);
            setLevel(Level.ALL);
        }

        @Override
        public synchronized void publish(LogRecord record) {
            super.publish(record);
            flush();
        }

        @Override
        public synchronized void close() {
            flush();
        }
    }

    /** {@code 2024-01-01T00:00:00.000Z INFO  [logger] message}. */
    private static final class LineFormatter extends Formatter {
        private static final DateTimeFormatter TIME =
                DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder(128);
            line.append(TIME.format(Instant.ofEpochMilli(record.getMillis())))
                .append(' ')
                .append(String.format("%-7s", record.getLevel().getName()))
                .append(" [")
                .append(record.getLoggerName() == null ? "" : record.getLoggerName())
                .append("] ")
                .append(formatMessage(record))
                .append(System.lineSeparator());
            if (record.getThrown() != null) {
                StringWriter trace = new StringWriter();
                record.getThrown().printStackTrace(new PrintWriter(trace));
                line.append(trace);
            }
            return line.toString();
        }
    }
}
