package main

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill nginx if the test binary dies
// without running its cleanups.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
