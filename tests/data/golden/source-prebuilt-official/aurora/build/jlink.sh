#!/bin/sh
# Make the Java runtime the image ships. Usage: jlink.sh DEPS OUT RELEASE MODULES MODE [JMODS]
#   DEPS holds lib/ (the dependency jars); MODULES are added to what jdeps finds (Vert.x and
#   Netty load some modules reflectively, where jdeps cannot see them); MODE is "jlink" or
#   "full". app.jar is not looked at here, so a code change does not cut the runtime again:
#   app-modules.sh checks app.jar against this runtime in a later stage.
#   JMODS: another platform's jmods (same JDK update): this jlink links that platform's
#   runtime, which is never run here (no emulation).
set -eu
deps=$1 out=$2 release=$3 extra=$4 mode=$5 jmods=${6:-}

# jlink of this JDK, linking from another platform's jmods when JMODS is given.
run_jlink() {
  if [ -n "$jmods" ]; then jlink --module-path "$jmods" "$@"; else jlink "$@"; fi
}

# The JDK modules lib/ uses. Jars without module-info are read from the class path; $work/mp
# (empty unless auto_requires filled it) holds those that lib/'s explicit modules require.
work=$(mktemp -d)
mkdir "$work/mp"
module_deps() {
  jdeps -J-XX:TieredStopAtLevel=1 --ignore-missing-deps -q --recursive --multi-release "$release" \
        --print-module-deps --module-path "$work/mp" --class-path "$deps/lib/*" "$@" 2>/tmp/jdeps.log
}

# An explicit module (a jar with module-info, e.g. jackson-dataformat-yaml 2.13) that requires a
# jar without one (snakeyaml 1.30, an automatic module) makes jdeps fail with FindException:
# it resolves `requires` on the module path only. Put exactly those required jars there; the
# whole lib/ cannot go, as its jars split packages (jsr305 and java.annotation, ...).
auto_requires() {
  cat >"$work/AutoRequires.java" <<'JAVA'
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;

/** Prints the jars (of those given) that their explicit modules require as automatic modules. */
public class AutoRequires {
    public static void main(String[] jars) {
        Map<String, ModuleDescriptor> modules = new HashMap<>();
        Map<String, String> jarOf = new HashMap<>();
        for (String jar : jars) {
            try {
                for (ModuleReference ref : ModuleFinder.of(Path.of(jar)).findAll()) {
                    modules.putIfAbsent(ref.descriptor().name(), ref.descriptor());
                    jarOf.putIfAbsent(ref.descriptor().name(), jar);
                }
            } catch (RuntimeException e) {
                // no valid module name: jdeps reads this jar from the class path only
            }
        }
        TreeSet<String> out = new TreeSet<>();
        for (ModuleDescriptor d : modules.values()) {
            if (d.isAutomatic()) continue;
            for (ModuleDescriptor.Requires r : d.requires()) {
                ModuleDescriptor dep = modules.get(r.name());
                if (dep != null && dep.isAutomatic()
                        && !r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC)) {
                    out.add(jarOf.get(r.name()));
                }
            }
        }
        out.forEach(System.out::println);
    }
}
JAVA
  jars=$(java -XX:TieredStopAtLevel=1 "$work/AutoRequires.java" "$@") || return 1
  [ -n "$jars" ] || return 1
  for jar in $jars; do cp "$jar" "$work/mp/"; done
}

if [ "$mode" = full ]; then
  run_jlink --add-modules ALL-MODULE-PATH --no-header-files --no-man-pages --output "$out"
else
  found=java.base
  set -- "$deps"/lib/*.jar
  if [ -e "$1" ]; then
    if found=$(module_deps "$@"); then
      echo "aurora: jdeps found in lib/: $found"
    elif grep -q 'FindException: Module .* not found, required by' /tmp/jdeps.log &&
         auto_requires "$@" && found=$(module_deps "$@"); then
      echo "aurora: jdeps found in lib/ (with $(ls "$work/mp" | tr '\n' ' ')on the module path): $found"
    else
      echo "aurora: jdeps could not analyse lib/; shipping java.se instead:" >&2
      cat /tmp/jdeps.log >&2
      found=java.se
    fi
  fi
  # --strip-debug also strips native symbols, which needs objcopy (binutils); without it,
  # strip the Java debug attributes only (Debian's JDK ships its native code stripped anyway).
  # Another platform's native code is not this objcopy's to strip.
  strip=--strip-java-debug-attributes
  [ -z "$jmods" ] && command -v objcopy >/dev/null 2>&1 && strip=--strip-debug
  run_jlink --add-modules "$found,$extra" "$strip" --no-header-files --no-man-pages \
        --compress=2 --output "$out"
fi
rm -rf "$work"

# Some JDK packages (Debian's) link cacerts to a file outside the JDK: ship the real file.
jdk_home=$(dirname "$(dirname "$(readlink -f "$(command -v jlink)")")")
if [ -L "$out/lib/security/cacerts" ] || [ ! -e "$out/lib/security/cacerts" ]; then
  rm -f "$out/lib/security/cacerts"
  cp -L "$jdk_home/lib/security/cacerts" "$out/lib/security/cacerts"
fi
if [ -n "$jmods" ]; then
  sed -n 's/^MODULES="\(.*\)"$/\1/p' "$out/release"  # its java is not for this machine to run
else
  "$out/bin/java" --list-modules | tr '\n' ' '
  echo
fi
