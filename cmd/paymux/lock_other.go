//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// tryLock: this system has no flock; the data directory is not guarded.
func tryLock(*os.File) (bool, error) { return true, nil }
