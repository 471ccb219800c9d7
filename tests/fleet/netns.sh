# tests/fleet/netns.sh - network namespaces as machines, for the fleet
# tests (sourced, bash, after tests/lib.sh).
#
#   client 10.250.1.2 --- 10.250.1.1 [balancer] 10.250.2.1 --- 10.250.2.2 host1
#                 VIP 10.250.0.10:   10.250.3.1 --- 10.250.3.2 host2
#                 nftables numgen    10.250.4.1 --- 10.250.4.2 redis
#
# The balancer spreads new flows to the virtual address over the hosts
# (nftables "numgen inc mod N" DNAT); conntrack turns the replies' source
# back into the virtual address.  Only addresses inside namespaces made
# here, none linked to the host's network; netns_down removes them.
VIP=10.250.0.10
NS_PREFIX=udpdfleet$$
LB=${NS_PREFIX}lb
CL=${NS_PREFIX}c
H1=${NS_PREFIX}h1
H2=${NS_PREFIX}h2
DB=${NS_PREFIX}db
NAMESPACES=()

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

new_ns() {
	ip netns add "$1" || skip "cannot create network namespaces here"
	NAMESPACES+=("$1")
	in_ns "$1" ip link set lo up
}

# link NS N: a veth pair balancer 10.250.N.1 <-> NS 10.250.N.2, and NS's
# default route through the balancer.
link() {
	local ns=$1 n=$2
	ip link add "fl$$b$n" netns "$LB" type veth peer name "fl$$n$n" \
		netns "$ns" || fail "veth for $ns"
	in_ns "$LB" ip addr add "10.250.$n.1/24" dev "fl$$b$n"
	in_ns "$LB" ip link set "fl$$b$n" up
	in_ns "$ns" ip addr add "10.250.$n.2/24" dev "fl$$n$n"
	in_ns "$ns" ip link set "fl$$n$n" up
	in_ns "$ns" ip route add default via "10.250.$n.1"
}

# balance "a b ...": the virtual address's UDP flows over those hosts.
# The table's forward chain is where a test cuts links (netns_cut).
balance() {
	local targets=() i=0 h
	for h in "$@"; do
		targets+=("$i : $h")
		i=$((i + 1))
	done
	local map
	map=$(IFS=,; echo "${targets[*]}")
	in_ns "$LB" nft -f - <<NFT || fail "nft rules"
flush ruleset
table ip fleet {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP udp dport { 6000, 6004 } dnat to numgen inc mod $# map { $map }
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
	}
}
NFT
}

# netns_cut FROM TO / netns_uncut: drops (or no longer drops) every
# packet the balancer would forward from the address FROM to the
# subnet TO, both ways.
netns_cut() {
	in_ns "$LB" nft add rule ip fleet forward ip saddr "$1" ip daddr "$2" drop &&
		in_ns "$LB" nft add rule ip fleet forward ip saddr "$2" ip daddr "$1" drop
}
netns_uncut() {
	in_ns "$LB" nft flush chain ip fleet forward
}

# netns_up: the five machines, linked, the balancer over both hosts.
netns_up() {
	local ns
	new_ns "$LB"
	for ns in "$CL" "$H1" "$H2" "$DB"; do
		new_ns "$ns"
	done
	link "$CL" 1
	link "$H1" 2
	link "$H2" 3
	link "$DB" 4
	in_ns "$LB" sysctl -qw net.ipv4.ip_forward=1
	balance 10.250.2.2 10.250.3.2
	in_ns "$CL" ip -o addr show | grep -q "10.250.1.2/24" || fail "client address"
}

netns_down() {
	local ns
	for ns in "${NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
}
