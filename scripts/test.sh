#!/usr/bin/env bash
# The test command (`npm test`): installs what the tests need, builds kinject, starts the local
# cluster when none is running, then runs every tap test: unit, native (real programs through the
# shim in a private network namespace) and e2e (the real local cluster). Arguments go to tap,
# e.g. `npm test -- test/unit`. With no arguments, the quick chaos suite (test/chaos/quick.test.js:
# chaos/run.js --quick, ~4 min) runs last, as a tap test whose every scenario must end with no
# failure and nothing left.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
npm run -s build
if [ $# -eq 0 ]; then set -- test/unit test/native test/e2e test/chaos; fi
case " $* " in
  *" test/e2e"*|*"test/e2e/"*|*" test/chaos"*) bash cluster/up.sh ;;
esac
exec npx tap "$@"

