"""Where the catalogue's facts come from: each URL named once, as reference/cilium-tuning.md cites it.

Read by the item data modules (`datapath_items`, `node_items`). Calls nothing.
"""

# The source article series the labs follow (Cilium 1.13.4 on K3s; Ubuntu 23.04 VMs, Debian 10 boards).
SERIES = "https://e-whisper.pages.dev/posts/56721/"
SERIES_DEFAULTS = "https://e-whisper.pages.dev/posts/47083/"

# Cilium's Tuning Guide: the current one, and the 1.14-era one with the older kernel requirements.
TUNING_GUIDE = "https://docs.cilium.io/en/latest/operations/performance/tuning/"
TUNING_GUIDE_1_14 = "https://docs.cilium.io/en/v1.14/operations/performance/tuning/"
KUBEPROXY_FREE = "https://docs.cilium.io/en/stable/network/kubernetes/kubeproxy-free/"
XDP_DRIVERS = "https://docs.cilium.io/en/stable/network/kubernetes/kubeproxy-free/#loadbalancer-nodeport-xdp-acceleration"
BANDWIDTH_MANAGER = "https://docs.cilium.io/en/stable/network/kubernetes/bandwidth-manager/"
ROUTING = "https://docs.cilium.io/en/stable/network/concepts/routing/"
MASQUERADING = "https://docs.cilium.io/en/stable/network/concepts/masquerading/"
MAP_LIMITS = "https://docs.cilium.io/en/stable/network/ebpf/maps/"
BENCHMARK = "https://docs.cilium.io/en/stable/operations/performance/benchmark/"
CILIUM_1_9_BLOG = "https://cilium.io/blog/2020/11/10/cilium-19#veth"
CILIUM_1_13_RELEASE = "https://github.com/cilium/cilium/releases/tag/v1.13.0"
BIG_TCP_LAB = "https://isovalent.com/labs/cilium-big-tcp/"

# Pull requests and issues (reference D).
PR_KPR_KERNEL = "https://github.com/cilium/cilium/pull/10073"  # quotes the 4.19.57 / 5.1.16 / 5.2 threshold
PR_KPR_VALUES_REMOVED = "https://github.com/cilium/cilium/pull/31286"
PR_TUNNEL_REMOVED = "https://github.com/cilium/cilium/pull/29053"
PR_AUTO_ROUTES_WITH_TUNNEL = "https://github.com/cilium/cilium/pull/15196"
PR_DSR_NATIVE_ONLY = "https://github.com/cilium/cilium/pull/10149"
PR_DSR_GENEVE = "https://github.com/cilium/cilium/pull/23890"
ISSUE_DSR_GENEVE_FATAL = "https://github.com/cilium/cilium/issues/30845"
ISSUE_DSR_DOCS = "https://github.com/cilium/cilium/issues/26339"
PR_HOST_ROUTING_FALLBACK = "https://github.com/cilium/cilium/pull/13330"  # "needs kernel 5.10.0 or newer"
PR_HOST_ROUTING_KPR_LOG = "https://github.com/cilium/cilium/pull/44041"
PR_ROUTING_STATUS_LINE = "https://github.com/cilium/cilium/pull/32036"
ISSUE_TUNNEL_THROUGH_NETFILTER = "https://github.com/cilium/cilium/issues/16280"
PR_IPV6_BIG_TCP = "https://github.com/cilium/cilium/pull/20349"
PR_IPV4_BIG_TCP = "https://github.com/cilium/cilium/pull/26172"
ISSUE_BIG_TCP_DUMMY_DEVICE = "https://github.com/cilium/cilium/issues/24539"
PR_BBR = "https://github.com/cilium/cilium/pull/19287"
PR_BBR_HOSTNS_ONLY = "https://github.com/cilium/cilium/pull/38898"
ISSUE_EDT_TCP_ONLY = "https://github.com/cilium/cilium/issues/17246"
PR_XDP_BEST_EFFORT = "https://github.com/cilium/cilium/pull/28666"
ISSUE_XDP_VIRTIO = "https://github.com/cilium/cilium/issues/12105"
ISSUE_XDP_FATAL = "https://github.com/cilium/cilium/issues/22970"
ISSUE_XDP_RESTART_DISRUPTION = "https://github.com/cilium/cilium/issues/13869"
ISSUE_MTU_WRONG_DEVICE = "https://github.com/cilium/cilium/issues/14339"
ISSUE_MTU_PER_ROUTE = "https://github.com/cilium/cilium/issues/41478"
PR_MTU_REDEPLOY = "https://github.com/cilium/cilium/pull/4323"
NETPERF_SCRIPTS = "https://github.com/borkmann/netperf_scripts"
