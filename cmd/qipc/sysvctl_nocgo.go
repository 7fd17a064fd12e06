//go:build linux && !cgo

package main

import "errors"

func shmRemoveID(int) error       { return errors.ErrUnsupported }
func semRemoveID(int) error       { return errors.ErrUnsupported }
func semValue(int) (int, error)   { return 0, errors.ErrUnsupported }
func semLastPid(int) (int, error) { return 0, errors.ErrUnsupported }
