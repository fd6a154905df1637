// Package pool spreads one multi-platform build over several buildkitd
// nodes.
//
// Each node's platforms are the ones it declares (a builder file) or the
// ones its workers report (ListWorkers). Each requested platform goes to a
// node that builds it natively. Among the nodes that do, the order is
// rendezvous hashing (highest random weight): every node gets the score
// sha256(node name, repository, context, Dockerfile, target, platform) and
// the highest score builds. A project therefore keeps landing on the same
// node — where its cache is — and when a node joins or leaves, only the
// builds that move to it or from it change nodes (no ring to rebalance).
//
// With Pool.Balance on (off by default), the order is bounded by load
// (consistent hashing with bounded loads): each candidate node is asked
// how many builds it runs, and a node running Cap builds or more is
// passed over for the next in the order, so that a project with many
// pipelines at once spreads over its first few nodes instead of piling
// onto one.
//
// A node that is down at discovery, or whose connection fails before or
// during the build (a builder.TransportError), is skipped: the platform
// goes to the next node in its order. A build error (a failing RUN, a
// refused push) is returned as it is and never retried on another node.
package pool
