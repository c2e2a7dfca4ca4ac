package clustertest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/packetflow/packetflow/cluster"
)

// Misplaced lists the reactor instances that are active where they should
// not be: on two or more of nodes at once ("counter/c7 active on n1 and
// n3"), or on a node that is not their owner in that node's own view
// ("counter/c2 active on n2, owned by n1"). Activations are stopped
// asynchronously after a change of members, so wait for it to become empty
// (for example with require.Eventually) rather than expect it at once.
func Misplaced(nodes ...*cluster.Node) []string {
	where := map[string][]string{}
	var out []string
	for _, n := range nodes {
		name := n.Local().Name
		for kind, identity := range n.Runtime().Active() {
			key := kind + "/" + identity
			where[key] = append(where[key], name)
			owner, err := n.Owner(kind, identity)
			switch {
			case err != nil:
				out = append(out, fmt.Sprintf("%s active on %s, which places nothing: %v", key, name, err))
			case owner.Name != name:
				out = append(out, fmt.Sprintf("%s active on %s, owned by %s", key, name, owner.Name))
			}
		}
	}
	for key, names := range where {
		if len(names) > 1 {
			slices.Sort(names)
			out = append(out, fmt.Sprintf("%s active on %s", key, strings.Join(names, " and ")))
		}
	}
	slices.Sort(out)
	return out
}
