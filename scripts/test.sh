#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need, builds kinject, starts the local
# cluster when none is running, then runs every tap test: unit, native (real programs through the
# shim in a private network namespace) and e2e (the real local cluster). Arguments go to tap,
# e.g. `npm test -- test/unit`. With no arguments, the quick chaos suite (chaos/) runs last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
npm run -s build
# with no arguments, the quick chaos suite (chaos/run.js --quick, ~4 min) runs after the tap tests
all=0
if [ $# -eq 0 ]; then set -- test/unit test/native test/e2e; all=1; fi
case " $* " in
  *" test/e2e"*|*"test/e2e/"*) bash cluster/up.sh ;;
esac
npx tap "$@"
if [ "$all" = 1 ]; then exec timeout 900 node chaos/run.js --quick; fi
