//go:build unix

package qipc

import "github.com/qipc-go/qipc/internal/procs"

func sysvSegmentStale(nattch, creator int) (bool, string) {
	return procs.SysVSegment(nattch, creator, procs.Alive)
}
