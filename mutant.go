//go:build !qipc_mutant

package qipc

// mutant reports whether `make verify` planted the fault name in this build
// (tools/verify.sh lists them). Without the qipc_mutant build tag it is
// false, and the checks compile away.
func mutant(string) bool { return false }
