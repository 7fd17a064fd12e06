//go:build qipc_mutant

package qipc

import "os"

// plantedMutant is the fault `make verify` planted for this run: a build
// with the qipc_mutant tag reads it from QIPC_MUTANT, so that one test
// binary can show each fault turning the suite red.
var plantedMutant = os.Getenv("QIPC_MUTANT")

func mutant(name string) bool { return plantedMutant == name }
