#!/usr/bin/env bash
# A real single-node Kubernetes on this machine, for CI where kind can't run (no image registry):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, the kubelet,
# kube-proxy (iptables) and kube-router (NetworkPolicies only) as local processes, CoreDNS as a
# pod, the bridge CNI. Everything is built from the Go module proxy (scripts/infra/<name>) or comes
# from Debian, and the node's addresses exist only on this machine (a bridge of its own).
# Usage: scripts/cluster.sh up|down|status|install|images|kubectl ARGS…
#   up       build what is missing, start the cluster, load the images, install the chart (kind profile)
#   down     stop everything it started and remove what it made (processes by pid, pods through the
#            CRI, mounts, network devices, iptables chains, cgroups), restoring the sysctls it changed
#   install  load the images and `helm upgrade --install` again (extra helm args pass through)
# Logs in .tools/logs/cluster-*.log, state in .tools/cluster; see docs/deploy-targets.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/scripts/k8s/common.sh"

CL=$TOOLS/cluster
SOCKDIR=/run/platform-cluster
CONTAINERD_SOCK=$SOCKDIR/containerd.sock
NODE=platform-node
NODE_IP=${CLUSTER_NODE_IP:-10.254.254.1}
NODE_BRIDGE=platform-node0
POD_CIDR=10.244.0.0/24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
API_IP=10.96.0.1
DNS_IP=10.96.0.10
APISERVER=https://$NODE_IP:6443
export KUBECONFIG=$CL/admin.kubeconfig
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables vm.overcommit_memory vm.panic_on_oom
  kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
PROCS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy kube-router)

[ "$(id -u)" = 0 ] || die "the cluster runs a kubelet and containerd: it needs root"

bins() {
  K8S_BIN=$(go_tool kubernetes "v$KUBERNETES_VERSION" kubernetes -ldflags "-s -w $(k8s_version_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy k8s.io/kubernetes/cmd/kubectl)
  ETCD_BIN=$(go_tool etcd "v$ETCD_VERSION" etcd -ldflags '-s -w' go.etcd.io/etcd/server/v3 go.etcd.io/etcd/etcdctl/v3)
  ROUTER_BIN=$(go_tool kube-router "v$KUBE_ROUTER_VERSION" kube-router \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=v$KUBE_ROUTER_VERSION" \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
  CRICTL_BIN=$(go_tool crictl v1.34.0 cri-tools -ldflags '-s -w' sigs.k8s.io/cri-tools/cmd/crictl)
  PATH=$K8S_BIN:$PATH
  mkdir -p "$CL"
  # What `down` needs, even when the sources changed since.
  printf 'K8S_BIN=%q\nCRICTL_BIN=%q\nROUTER_BIN=%q\n' "$K8S_BIN" "$CRICTL_BIN" "$ROUTER_BIN" > "$CL/bins.env"
}

# What `kubectl version` and the API's /version report (kubeVersion checks in charts read it).
k8s_version_ldflags() {
  local pkg v=$KUBERNETES_VERSION flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=v$v -X $pkg.gitMajor=${v%%.*} -X $pkg.gitMinor=$(echo "$v" | cut -d. -f2)"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

need_packages() {
  local missing=() entry
  for entry in containerd:containerd runc:runc /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables \
    ipset:ipset conntrack:conntrack openssl:openssl; do
    command -v "${entry%%:*}" >/dev/null 2>&1 || [ -e "${entry%%:*}" ] || missing+=("${entry##*:}")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing Debian packages: ${missing[*]} — run scripts/setup.sh deploy"
}

# --- PKI: one CA, the API server's serving certificate, a client certificate per component ---
cert() { # cert NAME CN [O] [SANS]
  local name=$1 cn=$2 org=${3:-} sans=${4:-}
  [ -f "$CL/pki/$name.crt" ] && return 0
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$CL/pki/$name.key" \
    -subj "$subj" -out "$CL/pki/$name.csr" 2>/dev/null
  local ext="basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth,serverAuth"
  [ -n "$sans" ] && ext+="\nsubjectAltName=$sans"
  openssl x509 -req -in "$CL/pki/$name.csr" -CA "$CL/pki/ca.crt" -CAkey "$CL/pki/ca.key" -CAcreateserial \
    -days 30 -out "$CL/pki/$name.crt" -extfile <(printf '%b\n' "$ext") 2>/dev/null
  rm -f "$CL/pki/$name.csr"
}

kubeconfig() { # kubeconfig NAME (a client certificate of the same name)
  local name=$1 file=$CL/$1.kubeconfig
  [ -f "$file" ] && return 0
  kubectl config set-cluster platform --certificate-authority="$CL/pki/ca.crt" --embed-certs --server="$APISERVER" --kubeconfig="$file" >/dev/null
  kubectl config set-credentials "$name" --client-certificate="$CL/pki/$name.crt" --client-key="$CL/pki/$name.key" --embed-certs --kubeconfig="$file" >/dev/null
  kubectl config set-context default --cluster=platform --user="$name" --kubeconfig="$file" >/dev/null
  kubectl config use-context default --kubeconfig="$file" >/dev/null
}

pki() {
  mkdir -p "$CL/pki" && chmod 700 "$CL/pki"
  if [ ! -f "$CL/pki/ca.crt" ]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -keyout "$CL/pki/ca.key" -out "$CL/pki/ca.crt" -subj "/CN=platform-cluster-ca" 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$CL/pki/sa.key" 2>/dev/null
    openssl pkey -in "$CL/pki/sa.key" -pubout -out "$CL/pki/sa.pub" 2>/dev/null
  fi
  cert apiserver kube-apiserver "" "IP:$NODE_IP,IP:$API_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin admin system:masters
  cert kube-controller-manager system:kube-controller-manager
  cert kube-scheduler system:kube-scheduler
  cert kubelet "system:node:$NODE" system:nodes "IP:$NODE_IP,DNS:$NODE"
  cert kube-proxy system:kube-proxy
  cert kube-router system:kube-router
  local n; for n in admin kube-controller-manager kube-scheduler kubelet kube-proxy kube-router; do kubeconfig "$n"; done
}

# --- processes ---
start_proc() { # start_proc NAME CMD… — in the background, pid and log kept; no-op when running
  local name=cluster-$1; shift
  pid_alive "$name" && return 0
  # exec -a keeps the name in the command line, which pid_alive checks against pid reuse.
  (exec -a "$name" "$@") >>"$LOGS/$name.log" 2>&1 &
  echo $! > "$RUN/$name.pid"
}

healthz() { curl -fsS --max-time 2 --cacert "$CL/pki/ca.crt" --cert "$CL/pki/admin.crt" --key "$CL/pki/admin.key" "$@" >/dev/null 2>&1; }

save_sysctls() {
  [ -f "$CL/sysctls.saved" ] && return 0
  local s; for s in "${SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done > "$CL/sysctls.saved"
  [ -d /var/log/containers ] && echo keep > "$CL/var-log-containers.saved" || echo remove > "$CL/var-log-containers.saved"
}

node_network() {
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add "$NODE_BRIDGE" type bridge
    ip addr add "$NODE_IP/32" dev "$NODE_BRIDGE"
    ip link set "$NODE_BRIDGE" up
  fi
  sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1
  # A pod's packet still addressed to a Service IP after kube-proxy's DNAT has no endpoint to go to.
  # Unrouted, it left by the default route, masqueraded: in a new pod's first seconds (before
  # kube-router's chains exist, the CNI firewall accepts all its traffic) a connection to a Service
  # without ready endpoints reached whatever answers outside, and kept the connection. Seen: a new
  # Prometheus got 404s from "consul:8500" for good while Consul restarted.
  ip rule show | grep -q "to $SERVICE_CIDR iif cni0 unreachable" \
    || ip rule add iif cni0 to "$SERVICE_CIDR" unreachable priority 100
  mkdir -p "$CL/cni"
  cat > "$CL/cni/10-platform.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "platform",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": "$CL/cni/ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall", "backend": "iptables" }
  ]
}
EOF
}

start_etcd() {
  mkdir -p "$CL/etcd" && chmod 700 "$CL/etcd"
  start_proc etcd "$ETCD_BIN/server" --name "$NODE" --data-dir "$CL/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster "$NODE=http://127.0.0.1:2380" --listen-metrics-urls http://127.0.0.1:2381 \
    --quota-backend-bytes 1073741824 --log-level warn
  wait_for cluster-etcd 60 curl -fsS http://127.0.0.1:2381/health
}

start_apiserver() {
  start_proc kube-apiserver "$K8S_BIN/kube-apiserver" --advertise-address "$NODE_IP" --bind-address "$NODE_IP" \
    --secure-port 6443 --etcd-servers http://127.0.0.1:2379 --service-cluster-ip-range "$SERVICE_CIDR" \
    --service-node-port-range 30000-32767 --client-ca-file "$CL/pki/ca.crt" \
    --tls-cert-file "$CL/pki/apiserver.crt" --tls-private-key-file "$CL/pki/apiserver.key" \
    --kubelet-client-certificate "$CL/pki/apiserver-kubelet-client.crt" --kubelet-client-key "$CL/pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$CL/pki/sa.pub" --service-account-signing-key-file "$CL/pki/sa.key" \
    --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
    --profiling=false --v 1
  wait_for cluster-kube-apiserver 120 healthz "$APISERVER/readyz"
}

start_controllers() {
  start_proc kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig "$CL/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CL/kube-controller-manager.kubeconfig" --authorization-kubeconfig "$CL/kube-controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$CL/pki/sa.key" --root-ca-file "$CL/pki/ca.crt" \
    --cluster-signing-cert-file "$CL/pki/ca.crt" --cluster-signing-key-file "$CL/pki/ca.key" \
    --allocate-node-cidrs --cluster-cidr "$CLUSTER_CIDR" --node-cidr-mask-size 24 --service-cluster-ip-range "$SERVICE_CIDR" \
    --profiling=false --v 1
  start_proc kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig "$CL/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$CL/kube-scheduler.kubeconfig" --authorization-kubeconfig "$CL/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v 1
}

start_containerd() {
  mkdir -p "$SOCKDIR" "$CL/containerd"
  cat > "$CL/containerd/config.toml" <<EOF
version = 2
root = "$CL/containerd/root"
state = "$SOCKDIR/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # runc can't set a negative oom_score_adj here (no CAP_SYS_RESOURCE): clamp to containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CL/cni"
EOF
  start_proc containerd containerd --config "$CL/containerd/config.toml"
  wait_for cluster-containerd 30 ctr --address "$CONTAINERD_SOCK" version
}

start_kubelet() {
  mkdir -p "$CL/kubelet" "$CL/pod-logs"
  cat > "$CL/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $CL/pki/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $CL/pki/kubelet.crt
tlsPrivateKeyFile: $CL/pki/kubelet.key
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
# Kubernetes 1.34 still runs on cgroup v1 when told to; these machines have no cgroup v2 hierarchy.
failCgroupV1: false
failSwapOn: false
oomScoreAdj: 0
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: /etc/resolv.conf
podLogsDir: $CL/pod-logs
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: { memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2% }
EOF
  start_proc kubelet "$K8S_BIN/kubelet" --config "$CL/kubelet.yaml" --kubeconfig "$CL/kubelet.kubeconfig" \
    --root-dir "$CL/kubelet" --hostname-override "$NODE" --node-ip "$NODE_IP" --v 1
  wait_for cluster-kubelet 60 curl -fsS http://127.0.0.1:10248/healthz
  wait_for cluster-kubelet 60 kubectl get node "$NODE"
}

start_proxy() {
  cat > "$CL/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: { kubeconfig: $CL/kube-proxy.kubeconfig }
hostnameOverride: $NODE
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $CLUSTER_CIDR
nodePortAddresses: [$NODE_IP/32]
oomScoreAdj: 0
# Leave the conntrack sysctls as they are.
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
  start_proc kube-proxy "$K8S_BIN/kube-proxy" --config "$CL/kube-proxy.yaml" --v 1
  wait_for cluster-kube-proxy 60 curl -fsS http://127.0.0.1:10256/healthz
  # kube-router enforces NetworkPolicies (iptables + ipset) and nothing else.
  start_proc kube-router "$ROUTER_BIN/kube-router" --kubeconfig "$CL/kube-router.kubeconfig" \
    --hostname-override "$NODE" --run-firewall=true --run-router=false --run-service-proxy=false \
    --health-port 20244 --metrics-port 0 --v 1
  wait_for cluster-kube-router 60 curl -fsS http://127.0.0.1:20244/healthz
}

# RBAC kube-router needs, the default StorageClass with hostPath volumes (no provisioner here;
# directories open to any uid, since hostPath ignores fsGroup), and CoreDNS.
addons() {
  kubectl apply -f "$ROOT/k8s/cluster/rbac.yaml" >/dev/null
  local i; for i in 1 2 3 4 5 6; do
    mkdir -p "$CL/volumes/pv-$i" && chmod 0777 "$CL/volumes/pv-$i"
  done
  sed -e "s#\${VOLUMES}#$CL/volumes#g" -e "s#\${NODE}#$NODE#g" "$ROOT/k8s/cluster/storage.yaml" | kubectl apply -f - >/dev/null
  sed -e "s#\${DNS_IP}#$DNS_IP#g" -e "s#\${COREDNS_IMAGE}#$COREDNS_IMAGE#g" "$ROOT/k8s/cluster/coredns.yaml" | kubectl apply -f - >/dev/null
}

# Images from the Docker engine into the node's containerd (what `kind load docker-image` does);
# those it holds already are skipped. IMAGE_TAG picks the services' tag (dev); RETAG_FROM=TAG
# first tags platform/<service>:TAG as IMAGE_TAG (a new version to roll out, same content).
load_images() {
  local tag=${IMAGE_TAG:-dev} refs=() i name
  for i in "${IMAGES[@]}"; do
    [ -n "${RETAG_FROM:-}" ] && docker tag "platform/$i:$RETAG_FROM" "platform/$i:$tag"
    refs+=("platform/$i:$tag")
  done
  for name in postgres redis nginx kafka consul prometheus mailpit pause coredns; do
    refs+=("$(bash "$ROOT/scripts/standins/build.sh" ref "$name")")
  done
  # What was loaded is kept as "ref image-id" lines: an image rebuilt under the same tag loads again.
  local loaded=$CL/images.loaded missing=() id
  touch "$loaded"
  for i in "${refs[@]}"; do
    id=$(docker image inspect -f '{{.Id}}' "$i") || die "no image $i in the Docker engine"
    grep -qxF "$i $id" "$loaded" || missing+=("$i")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "cluster: loading ${#missing[@]} images into containerd"
  local t0=$SECONDS
  docker save "${missing[@]}" | ctr --address "$CONTAINERD_SOCK" -n k8s.io images import - >/dev/null
  for i in "${missing[@]}"; do
    grep -v "^$i " "$loaded" > "$loaded.tmp" || true
    echo "$i $(docker image inspect -f '{{.Id}}' "$i")" >> "$loaded.tmp" && mv "$loaded.tmp" "$loaded"
  done
  say "cluster: images loaded ($((SECONDS - t0)) s)"
}

cmd_up() {
  need_packages
  command -v helm >/dev/null || die "helm is missing: run scripts/setup.sh"
  bins
  mkdir -p "$CL" "$RUN" "$LOGS"
  local t0=$SECONDS
  save_sysctls
  pki
  node_network
  step "cluster: control plane"
  start_etcd
  start_apiserver
  start_controllers
  step "cluster: node $NODE ($NODE_IP)"
  start_containerd
  start_kubelet
  start_proxy
  addons
  kubectl wait --for=condition=Ready "node/$NODE" --timeout=120s >/dev/null
  say "cluster: Kubernetes $(kubectl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1) up in $((SECONDS - t0)) s"
  [ "${1:-}" = --no-install ] && return 0
  cmd_install
  mkdir -p "$ROOT/bench-results"
  INSTALL_SECONDS=$INSTALL_SECONDS cmd_stats > "$ROOT/bench-results/cluster-latest.json"
}

cmd_install() {
  bins
  load_images
  kubectl -n kube-system rollout status deployment/coredns --timeout=180s >/dev/null
  step "helm: installing $RELEASE into $NAMESPACE (kind profile)"
  local t0=$SECONDS
  helm_install kind "$@"
  wait_rollouts
  INSTALL_SECONDS=$((SECONDS - t0))
  say "cluster: the chart is installed and every rollout done ($INSTALL_SECONDS s); the edge: http://$NODE_IP:30080"
}

# Each pod's memory (the kubelet's working set) against its containers' limits, as JSON, and a
# table on stderr; the time the install took comes in INSTALL_SECONDS.
cmd_stats() {
  local summary=$CL/stats-summary.json pods=$CL/stats-pods.json
  kubectl get --raw "/api/v1/nodes/$NODE/proxy/stats/summary" > "$summary"
  kubectl -n "$NAMESPACE" get pods -o json > "$pods"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const fs = require("node:fs")
    const [summary, pods] = process.argv.slice(1).map((file) => JSON.parse(fs.readFileSync(file, "utf8")))
    const bytes = (q) => { const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(q ?? ""); return m ? Number(m[1]) * ({ Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2]] ?? 1) : null }
    const rows = pods.items.filter((p) => p.status.phase === "Running").map((p) => {
      const stats = summary.pods.find((s) => s.podRef.name === p.metadata.name && s.podRef.namespace === p.metadata.namespace)
      const limits = p.spec.containers.map((c) => bytes(c.resources?.limits?.memory))
      return { pod: p.metadata.name, usedBytes: stats?.memory?.workingSetBytes ?? null,
        limitBytes: limits.every((l) => l) ? limits.reduce((a, b) => a + b, 0) : null }
    }).sort((a, b) => a.pod.localeCompare(b.pod))
    const mib = (b) => (b / 2 ** 20).toFixed(0).padStart(5)
    for (const r of rows) process.stderr.write(`${r.pod.padEnd(36)} ${mib(r.usedBytes)} MiB of ${mib(r.limitBytes)} MiB (${Math.round(100 * r.usedBytes / r.limitBytes)} %)\n`)
    process.stderr.write(`${"total".padEnd(36)} ${mib(rows.reduce((s, r) => s + r.usedBytes, 0))} MiB\n`)
    console.log(JSON.stringify({ measuredAt: new Date().toISOString(), installSeconds: Number(process.env.INSTALL_SECONDS) || null, pods: rows }, null, 2))
  ' "$summary" "$pods"
}

cmd_down() {
  local t0=$SECONDS
  K8S_BIN='' CRICTL_BIN='' ROUTER_BIN=''
  # shellcheck disable=SC1091 # written by bins()
  [ -f "$CL/bins.env" ] && source "$CL/bins.env"
  # Pods first, through the CRI, so the CNI plugins release each pod's network namespace and rules.
  stop_pid cluster-kubelet
  if [ -S "$CONTAINERD_SOCK" ] && [ -x "$CRICTL_BIN/crictl" ]; then
    "$CRICTL_BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCK" rmp --all --force >/dev/null 2>&1 || true
  fi
  local p; for p in kube-router kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do
    stop_pid "cluster-$p"
  done
  # Whatever a crash left: shims of this containerd, then mounts under the cluster's folders.
  pkill -f "containerd-shim-runc-v2 -namespace k8s.io -address $CONTAINERD_SOCK" 2>/dev/null || true
  local m
  while IFS= read -r m; do umount -l "$m" 2>/dev/null || true
  done < <(awk '{ print $2 }' /proc/mounts | grep -E "^($CL|$SOCKDIR|/run/netns/cni-)" | sort -r)
  rm -f /run/netns/cni-* 2>/dev/null || true
  # iptables and ipsets: kube-router's and kube-proxy's own clean-up, then the CNI plugins' chains.
  if [ -x "$ROUTER_BIN/kube-router" ]; then "$ROUTER_BIN/kube-router" --cleanup-config >/dev/null 2>&1 || true; fi
  if [ -x "$K8S_BIN/kube-proxy" ]; then "$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  remove_chains
  local set; for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE|kube-router)-'); do ipset destroy "$set" 2>/dev/null || true; done
  ip rule del iif cni0 to "$SERVICE_CIDR" unreachable priority 100 2>/dev/null || true
  ip link del cni0 2>/dev/null || true
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  # The pod cgroups the kubelet made, deepest first.
  local ctl; for ctl in /sys/fs/cgroup/*/; do
    if [ -d "$ctl/kubepods" ]; then find "$ctl/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done
  if [ -f "$CL/sysctls.saved" ]; then
    while IFS= read -r line; do sysctl -qw "$line" 2>/dev/null || true; done < "$CL/sysctls.saved"
  fi
  find /var/log/containers -maxdepth 1 -type l -lname "$CL/*" -delete 2>/dev/null || true
  if [ "$(cat "$CL/var-log-containers.saved" 2>/dev/null)" = remove ]; then rmdir /var/log/containers 2>/dev/null || true; fi
  rm -rf "$CL" "$SOCKDIR"
  say "cluster: down ($((SECONDS - t0)) s)"
}

# Every chain a cluster component made in the filter, nat and mangle tables (KUBE-*, CNI-*), and
# the jumps to them from the built-in chains.
remove_chains() {
  local table chain rule
  for table in filter nat mangle; do
    while IFS= read -r rule; do
      eval "iptables -t $table ${rule/-A/-D}" 2>/dev/null || true
    done < <(iptables -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE|CNI)-')
    for chain in $(iptables -t "$table" -S 2>/dev/null | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S 2>/dev/null | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

cmd_status() {
  local p rc=0
  for p in "${PROCS[@]}"; do
    if pid_alive "cluster-$p"; then say "$p: running (pid $(cat "$RUN/cluster-$p.pid"))"; else say "$p: stopped"; rc=1; fi
  done
  [ $rc = 0 ] && kubectl get nodes,pods -A -o wide >&2
  return $rc
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  install) shift; cmd_install "$@" ;;
  build) bins ;;
  stats) bins; cmd_stats ;;
  images) bins; load_images ;;
  kubectl) shift; bins; exec kubectl "$@" ;;
  *) die "usage: scripts/cluster.sh up [--no-install]|down|status|install [HELM ARGS…]|build|stats|images|kubectl ARGS…" ;;
esac
