# shellcheck shell=bash
# Sourced by the provisioning steps that fetch jars from Maven Central for the tests (not a step itself).
#
# maven_jars <step> <pom> <version property> <jar that must be there, with {v} for the version>
#   Copies the runtime dependencies of the throwaway project <pom> into
#   $CLASSROOM_CACHE/<cache name>/<version>/jars, keyed by the version the pom's <version property> holds.
#   Downloads into a temp dir and renames it, so an interrupted run never leaves a half-filled jar dir; a
#   marker file says the dir is complete, and a second run finds it and does nothing.
#   Sets MAVEN_JARS_VERSION and MAVEN_JARS_DIR.
maven_jars() {
  local step="$1" pom="$2" property="$3" required="$4" cache_name version cache jars tmp
  version="$(sed -n "s:.*<$property>\(.*\)</$property>.*:\1:p" "$pom")"
  [ -n "$version" ] || { echo "$step: no <$property> in $pom" >&2; exit 1; }
  cache_name="$(basename "$(dirname "$pom")")"
  cache="${CLASSROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/classroom-platform}/$cache_name/$version"
  jars="$cache/jars"
  required="${required//\{v\}/$version}"
  if [ ! -f "$cache/.complete" ]; then
    command -v mvn >/dev/null || { echo "$step: 'mvn' is not on PATH; install Maven first" >&2; exit 1; }
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/jars.tmp.XXXXXX")"
    mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp"
    rm -rf "$jars"
    mv "$tmp" "$jars"
    [ -f "$jars/$required" ] || { echo "$step: $required missing in $jars" >&2; exit 1; }
    touch "$cache/.complete"
  fi
  # shellcheck disable=SC2034 # read by the sourcing step
  MAVEN_JARS_VERSION="$version"
  # shellcheck disable=SC2034
  MAVEN_JARS_DIR="$jars"
}
