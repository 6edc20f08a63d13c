#!/bin/sh
# The JDK modules lib/ needs, as jdeps finds them, written to one file.
# Usage: lib-modules.sh DEPS OUT RELEASE MODE
#   DEPS holds lib/ (the dependency jars); OUT is the file written (comma-separated modules);
#   MODE is "jlink" or "full" (full: no analysis, the runtime is the whole JDK).
# This runs in a stage of its own: the jlink stage copies only OUT, so a dependency bump that
# leaves the module list as it was re-runs this analysis but not jlink (the build cache matches
# the copied file's content).
set -eu
deps=$1 out=$2 release=$3 mode=$4
mkdir -p "$(dirname "$out")"
if [ "$mode" = full ]; then
  echo ALL-MODULE-PATH > "$out"
  exit 0
fi

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

# A module that nothing in lib/ provides, required by one that is there (netty-codec-marshalling
# requires org.jboss.marshalling, an optional dependency a build leaves out): an empty module of
# that name on the module path lets jdeps resolve the graph; the classes that would use it are
# skipped (--ignore-missing-deps) as they are on the class path at run time.
stub_module() {
  mkdir -p "$work/stub-$1/src" "$work/stub-$1/classes"
  echo "module $1 {}" > "$work/stub-$1/src/module-info.java"
  javac --release "$release" -d "$work/stub-$1/classes" "$work/stub-$1/src/module-info.java" >/dev/null 2>&1 &&
    jar --create --file "$work/mp/aurora-missing-$1.jar" -C "$work/stub-$1/classes" . >/dev/null 2>&1
}

not_found() {
  sed -n 's/^.*FindException: Module \([A-Za-z0-9_.]*\) not found, required by \([A-Za-z0-9_.]*\).*$/\1 \2/p' /tmp/jdeps.log | head -n 1
}

found=java.base
set -- "$deps"/lib/*.jar
if [ -e "$1" ]; then
  if found=$(module_deps "$@"); then
    echo "aurora: jdeps found in lib/: $found"
  else
    # Jars that lib/'s explicit modules require as automatic modules, then stubs for what is
    # not there at all, one per attempt (each attempt can reveal the next).
    [ -z "$(not_found)" ] || auto_requires "$@" || true
    missing="" ok=""
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
      if found=$(module_deps "$@"); then ok=1; break; fi
      nf=$(not_found)
      [ -n "$nf" ] || break
      name=${nf% *} by=${nf#* }
      case " $missing " in *" $name "*) break ;; esac
      stub_module "$name" || break
      missing="$missing $name" && echo "aurora: jdeps: no jar in lib/ provides module $name (required by $by; an optional dependency the build left out): analysed without it"
    done
    onmp=$(ls "$work/mp" | grep -v '^aurora-missing-' | tr '\n' ' ')
    if [ -n "$ok" ]; then
      echo "aurora: jdeps found in lib/${onmp:+ (with ${onmp}on the module path)}: $found"
    else
      echo "aurora: jdeps could not analyse lib/; shipping java.se instead:" >&2
      cat /tmp/jdeps.log >&2
      found=java.se
    fi
  fi
fi
rm -rf "$work"
echo "$found" > "$out"
