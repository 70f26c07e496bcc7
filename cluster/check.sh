#!/usr/bin/env bash
# cluster/check.sh — smoke test of a running local cluster (what issue 2 asks to show): node Ready,
# sample pods Running, in-pod DNS (short, namespaced and full names, headless), pod IP and ClusterIP
# routing, the raw TCP echo, kubectl exec/logs/port-forward, and the web pod's environment.
# Prints one line per check and "N passed, N failed". Needs a running cluster (cluster/up.sh).
set -uo pipefail
KC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$KC_DIR/lib/common.sh"
K=(kubectl --kubeconfig "$KC_ADMIN_KUBECONFIG" --request-timeout=30s)
NS=kinject-demo
pass=0; fail=0
check() { # check NAME EXPECTED_SUBSTRING CMD...
  local name="$1" want="$2" out; shift 2
  local t0=$SECONDS
  out="$("$@" 2>&1)"
  if [[ "$out" == *"$want"* ]]; then pass=$((pass + 1)); echo "ok   $name ($((SECONDS - t0))s)"
  else fail=$((fail + 1)); echo "FAIL $name: wanted '$want', got: $(head -c 300 <<<"$out")"; fi
}
check "node Ready" " Ready " "${K[@]}" get nodes --no-headers
hello_pod="$("${K[@]}" -n $NS get pod -l app=hello -o jsonpath='{.items[0].metadata.name}')"
hello_ip="$("${K[@]}" -n $NS get pod "$hello_pod" -o jsonpath='{.status.podIP}')"
hello_svc="$("${K[@]}" -n $NS get svc hello -o jsonpath='{.spec.clusterIP}')"
web_pod="$("${K[@]}" -n $NS get pod -l app=web -o jsonpath='{.items[0].metadata.name}')"
check "sample pods Running" "Running" "${K[@]}" -n $NS get pod "$hello_pod" "$web_pod" --no-headers
pod="kc-check-$$"
"${K[@]}" -n $NS run "$pod" --image=kinject.local/toolbox:1 --image-pull-policy=Never --restart=Never \
  --command -- sleep 300 >/dev/null
"${K[@]}" -n $NS wait --for=condition=Ready "pod/$pod" --timeout=60s >/dev/null
in_pod() { "${K[@]}" -n $NS exec "$pod" -- sh -c "$1"; }
check "http://hello (short name)" "hello from hello-" in_pod 'wget -qO- http://hello'
check "http://hello.kinject-demo" "hello from hello-" in_pod 'wget -qO- http://hello.kinject-demo'
check "http://hello.kinject-demo.svc.cluster.local" "hello from hello-" in_pod 'wget -qO- http://hello.kinject-demo.svc.cluster.local/any/path'
check "headless service resolves to pod IPs" "$hello_ip" in_pod 'nslookup hello-headless.kinject-demo.svc.cluster.local'
check "pod IP routes" "hello from $hello_pod" in_pod "wget -qO- http://$hello_ip/"
check "ClusterIP routes" "hello from hello-" in_pod "wget -qO- http://$hello_svc/"
check "raw TCP echo on port 7" "kinject-echo-check" in_pod 'echo kinject-echo-check | nc -w 3 echo 7'
check "apiserver via kubernetes.default (TLS + SA token)" "api=200" in_pod \
  'node -e "const f=require(\"fs\"),d=\"/var/run/secrets/kubernetes.io/serviceaccount/\";require(\"https\").get({host:\"kubernetes.default.svc\",path:\"/api\",ca:f.readFileSync(d+\"ca.crt\"),headers:{authorization:\"Bearer \"+f.readFileSync(d+\"token\",\"utf8\")}},r=>{console.log(\"api=\"+r.statusCode);process.exit(0)})"'
check "names outside the cluster are not forwarded (NXDOMAIN)" "ENOTFOUND" in_pod \
  'node -e "require(\"dns\").lookup(\"example.invalid\",(e)=>console.log(e&&e.code))"'
"${K[@]}" -n $NS delete pod "$pod" --wait=false >/dev/null 2>&1
check "kubectl exec: web env has API_KEY" "API_KEY=kinject-demo-api-key-7f3a9c" "${K[@]}" -n $NS exec "$web_pod" -c web -- env
check "kubectl exec: web seeded emptyDir" "seeded by init container" "${K[@]}" -n $NS exec "$web_pod" -c web -- cat /data/seed.txt
check "kubectl exec: web configMap volume" "line two with spaces" "${K[@]}" -n $NS exec "$web_pod" -c web -- cat /etc/web/MULTI_LINE
check "kubectl logs" "hello listening on :80" "${K[@]}" -n $NS logs "$hello_pod"
port=$((20000 + RANDOM % 20000))
"${K[@]}" -n $NS port-forward svc/hello "$port:80" >/dev/null 2>&1 &
pf=$!
for _ in $(seq 1 40); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.25; done
check "kubectl port-forward svc/hello" "hello from hello-" curl -s --max-time 5 "http://127.0.0.1:$port/"
kill "$pf" 2>/dev/null; wait "$pf" 2>/dev/null
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
