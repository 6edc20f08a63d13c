"""What an app's log says went wrong: its first Java exception (and the root cause under it),
with the fix for the known ones, shown above the log's tail when a smoke run fails."""

from __future__ import annotations

import re

_EXCEPTION = re.compile(r"\b((?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error))\b(?::\s*(.*))?")
_CAUSED_BY = re.compile(r"^\s*Caused by: ")
_FRAME = re.compile(r"^\s*(at |\.\.\. \d+ more|Suppressed: |Caused by: )")
_OTHER = re.compile(r"no main manifest attribute|Could not find or load main class|Unable to access jarfile"
                    r"|\[emerg\] bind\(\) to \S+ failed")  # nginx lost the port to the back end

KNOWN = [
    (re.compile(r"BindException|Address already in use"),
     "the back end could not bind its port: something else in the container holds it, most often the web server"
     " when the app listens on the web port. Set [backend] port to the port the app binds and give [web] port"
     " another one (they must differ), or make the app listen on $Z_API_PORT"),
    (re.compile(r"ClassNotFoundException|NoClassDefFoundError|Could not find or load main class"),
     "a class is missing from the class path: lib/ must hold every runtime dependency and app.jar's manifest"
     " (Class-Path, Main-Class) must name them; check [backend] lib and jar, and that the build copied the"
     " dependencies (mvn dependency:copy-dependencies)"),
    (re.compile(r"OutOfMemoryError"),
     "the JVM ran out of memory: raise the memory limit ([kube] limits.memory; `podman run --memory`) or lower"
     " the heap's share (-XX:MaxRAMPercentage in [backend] jvm_options, [kube] heap_percent)"),
    (re.compile(r"no main manifest attribute"),
     "app.jar names no Main-Class in its manifest: configure the jar plugin's manifest (mainClass), or point"
     " [backend] jar at the application's jar"),
]


def first_exception(logs: str) -> tuple[list[str], str | None]:
    """The first exception's line and its last `Caused by:` (the root cause), and the fix for a
    known one; ([], None) when the log holds none."""
    lines = logs.splitlines()
    for i, line in enumerate(lines):
        if _EXCEPTION.search(line) or _OTHER.search(line):
            shown = [line.strip()]
            block = [line]
            for more in lines[i + 1:]:
                if not _FRAME.match(more):
                    break
                block.append(more)
            root = [m.strip() for m in block if _CAUSED_BY.match(m)]
            if root:
                shown.append(root[-1])
            text = "\n".join(block)
            hint = next((fix for pattern, fix in KNOWN if pattern.search(text)), None)
            return shown, hint
    return [], None


def cause_header(logs: str) -> list[str]:
    """Lines to print above a log's tail: the first exception, its root cause, the hint."""
    shown, hint = first_exception(logs)
    if not shown:
        return []
    out = ["the first exception in the log:", *("  " + s[:300] for s in shown)]
    if hint:
        out.append(f"hint: {hint}")
    return [*out, "---"]
