//go:build !unix

package qipc

// Without System V or POSIX backends, no facts reach these.

func sysvSegmentStale(int, int) (bool, string) { return false, "" }

func posixSegmentStale([]int, int, bool) (stale, sure bool, why string) { return false, true, "" }
