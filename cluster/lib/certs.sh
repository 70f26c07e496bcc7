# cluster/lib/certs.sh — creates the cluster PKI with openssl (once; kept across up/down):
# a CA, the apiserver serving cert, client certs for every component, the kubelet serving cert,
# the service-account signing key, and a kubeconfig per client. Sourced by up.sh.
# shellcheck shell=bash

# kc_cert NAME CN ORG [SAN] — EC P-256 key + cert signed by the cluster CA (10 years).
kc_cert() {
  local name="$1" cn="$2" org="$3" san="${4:-}" ext="$KC_PKI/$1.ext"
  [ -f "$KC_PKI/$name.crt" ] && return 0
  openssl ecparam -name prime256v1 -genkey -noout -out "$KC_PKI/$name.key" 2>/dev/null
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  openssl req -new -key "$KC_PKI/$name.key" -subj "$subj" -out "$KC_PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } > "$ext"
  openssl x509 -req -in "$KC_PKI/$name.csr" -CA "$KC_PKI/ca.crt" -CAkey "$KC_PKI/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$ext" -out "$KC_PKI/$name.crt.tmp" 2>"$KC_PKI/.err" \
    || { cat "$KC_PKI/.err" >&2; kc_die "could not sign certificate $name"; }
  mv "$KC_PKI/$name.crt.tmp" "$KC_PKI/$name.crt"; rm -f "$KC_PKI/.err"
  rm -f "$KC_PKI/$name.csr" "$ext"
  chmod 600 "$KC_PKI/$name.key"
}

# kc_kubeconfig FILE CERTNAME [SERVER] — kubeconfig that points at files in $KC_PKI.
kc_kubeconfig() {
  local file="$1" cert="$2" server="${3:-https://$KC_NODE_IP:$KC_APISERVER_PORT}"
  cat > "$file.tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: kinject
  cluster:
    certificate-authority: $KC_PKI/ca.crt
    server: $server
users:
- name: $cert
  user:
    client-certificate: $KC_PKI/$cert.crt
    client-key: $KC_PKI/$cert.key
contexts:
- name: kinject
  context:
    cluster: kinject
    user: $cert
current-context: kinject
KC
  chmod 600 "$file.tmp"; mv "$file.tmp" "$file"
}

kc_certs() {
  kc_apt openssl
  mkdir -p "$KC_PKI"; chmod 700 "$KC_PKI"
  if [ ! -f "$KC_PKI/ca.crt" ]; then
    kc_log "creating cluster CA and certificates in $KC_PKI"
    openssl ecparam -name prime256v1 -genkey -noout -out "$KC_PKI/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$KC_PKI/ca.key" -subj "/CN=kinject-local-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$KC_PKI/ca.crt" 2>/dev/null
  fi
  local svc="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$KC_CLUSTER_DOMAIN"
  kc_cert apiserver kube-apiserver "" \
    "$svc,DNS:localhost,DNS:$KC_NODE_NAME,IP:$KC_NODE_IP,IP:$KC_APISERVER_SVC_IP,IP:127.0.0.1"
  kc_cert kubelet-serving "system:node:$KC_NODE_NAME" system:nodes \
    "DNS:$KC_NODE_NAME,DNS:localhost,IP:$KC_NODE_IP,IP:127.0.0.1"
  kc_cert admin kubernetes-admin system:masters
  kc_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  kc_cert controller-manager system:kube-controller-manager ""
  kc_cert scheduler system:kube-scheduler ""
  kc_cert kubelet "system:node:$KC_NODE_NAME" system:nodes
  kc_cert kube-proxy system:kube-proxy ""
  kc_cert coredns kinject:coredns ""
  if [ ! -f "$KC_PKI/sa.key" ]; then
    openssl genrsa -out "$KC_PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$KC_PKI/sa.key" -pubout -out "$KC_PKI/sa.pub" 2>/dev/null
    chmod 600 "$KC_PKI/sa.key"
  fi
  kc_kubeconfig "$KC_ADMIN_KUBECONFIG" admin
  kc_kubeconfig "$KC_STATE/controller-manager.kubeconfig" controller-manager
  kc_kubeconfig "$KC_STATE/scheduler.kubeconfig" scheduler
  kc_kubeconfig "$KC_STATE/kubelet.kubeconfig" kubelet
  kc_kubeconfig "$KC_STATE/kube-proxy.kubeconfig" kube-proxy
  kc_kubeconfig "$KC_STATE/coredns.kubeconfig" coredns
}
