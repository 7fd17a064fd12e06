//go:build !unix

package qipc

// Without a System V backend, no facts reach it.

func sysvSegmentStale(int, int) (bool, string) { return false, "" }
