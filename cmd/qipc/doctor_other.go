//go:build !linux

package main

import (
	"os"

	"github.com/qipc-go/qipc"
)

// procFacts knows only this process's ids here: the facts doctor compares
// come from Linux's /proc. Another process is named, and nothing more.
func procFacts(pid int) (*ProcFacts, error) {
	p := &ProcFacts{PID: pid, Unreadable: []string{"namespaces, /dev/shm, environment and mappings (" + errNoScan.Error() + ")"}}
	if pid == os.Getpid() {
		p.UID, p.GID = os.Geteuid(), os.Getegid()
	}
	return p, nil
}

// ownerOf is not known without the scan.
func ownerOf(qipc.Key, bool) (int, int, string, bool) { return 0, 0, "", false }
