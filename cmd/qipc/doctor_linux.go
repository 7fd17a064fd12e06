package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/qtnames"
)

// procFacts reads what decides which IPC objects process pid sees, from
// /proc. What it may not read (another user's process without root) is
// named in Unreadable; a process that does not run (none, a zombie) or
// has no user space (a kernel thread) is an error.
func procFacts(pid int) (*ProcFacts, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return nil, fmt.Errorf("no process %d (%v)", pid, errors.Unwrap(err))
	}
	p := &ProcFacts{PID: pid}
	unreadable := func(what string, err error) {
		p.Unreadable = append(p.Unreadable, fmt.Sprintf("%s (%v)", what, errors.Unwrap(err)))
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch {
		case k == "Uid" && len(f) > 1:
			p.UID, _ = strconv.Atoi(f[1]) // effective: the one the kernel checks
		case k == "Gid" && len(f) > 1:
			p.GID, _ = strconv.Atoi(f[1])
		case k == "Groups":
			for _, g := range f {
				if n, err := strconv.Atoi(g); err == nil {
					p.Groups = append(p.Groups, n)
				}
			}
		case k == "State" && len(f) > 0 && (f[0] == "Z" || f[0] == "X"):
			return nil, fmt.Errorf("process %d has exited (%s)", pid, strings.TrimSpace(v))
		case k == "Kthread" && len(f) > 0 && f[0] == "1":
			return nil, fmt.Errorf("process %d is a kernel thread", pid)
		}
	}
	if b, err := os.ReadFile(dir + "/comm"); err == nil {
		p.Command = strings.TrimSpace(string(b))
	}
	if p.IPCNamespace, err = os.Readlink(dir + "/ns/ipc"); err != nil {
		unreadable("IPC namespace", err)
	}
	if p.MountNamespace, err = os.Readlink(dir + "/ns/mnt"); err != nil {
		unreadable("mount namespace", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir+"/root"+devShm, &st); err != nil {
		unreadable(devShm, &fs.PathError{Op: "stat", Path: dir + "/root" + devShm, Err: err})
	} else {
		p.DevShm = fmt.Sprintf("%d:%d inode %d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	}
	if env, err := os.ReadFile(dir + "/environ"); err != nil {
		unreadable("environment", err)
	} else if cwd, err := os.Readlink(dir + "/cwd"); err != nil {
		unreadable("working directory", err)
	} else {
		p.envKnown = true
		for _, kv := range bytes.Split(env, []byte{0}) {
			k, v, ok := strings.Cut(string(kv), "=")
			if !ok {
				continue
			}
			switch k {
			case "TMPDIR":
				p.TMPDIR = &v
			case "XDG_RUNTIME_DIR":
				p.XDGRuntimeDir = &v
			}
		}
		// Qt makes a relative TMPDIR absolute against the process's
		// working directory, not this one's.
		p.tmpdir = str(p.TMPDIR)
		if p.tmpdir != "" && !filepath.IsAbs(p.tmpdir) {
			p.tmpdir = filepath.Join(cwd, p.tmpdir)
		}
		// The folder Qt 4.4 to 6.5 put a legacy key file in, spelled as
		// this process finds it; TempDir says which directory that is
		// where the process looks (its mount namespace may have another).
		p.TempPath = qtnames.LegacyTempDir(p.tmpdir)
		if p.TempPath == "" {
			p.TempPath = p.tmpdir + " (not found here)"
		} else if err := unix.Stat(dir+"/root"+p.TempPath, &st); err == nil {
			p.TempDir = fmt.Sprintf("%d:%d inode %d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
		}
		p.RuntimeDir = runtimeDirOf(dir, str(p.XDGRuntimeDir), p.TempPath, p.UID)
	}
	if maps, err := os.ReadFile(dir + "/maps"); err != nil {
		unreadable("mappings", err)
	} else {
		p.Qt = qtCores(dir, maps)
	}
	p.Sandbox = sandboxOf(dir)
	return p, nil
}

// runtimeDirOf is the directory process dir's Qt 6.6+ takes for its
// runtime location (qtnames.RuntimeDirCandidates): the first that is
// missing (Qt would make it) or a directory of uid with mode 0700, as the
// process sees it. Unlike the library's, this look makes nothing.
func runtimeDirOf(dir, xdg, tempPath string, uid int) string {
	for _, cand := range qtnames.RuntimeDirCandidates(filepath.Clean(xdg), tempPath, qtnames.UserName(uid)) {
		var st unix.Stat_t
		err := unix.Lstat(dir+"/root"+cand, &st)
		if errors.Is(err, unix.ENOENT) || err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && int(st.Uid) == uid && st.Mode&0o777 == 0o700 {
			return cand
		}
	}
	return ""
}

// qtBuildString is QLibraryInfo::build()'s start, "Qt X.Y.Z (".
var qtBuildString = regexp.MustCompile(`Qt (\d+)\.(\d+)\.(\d+) \(`)

// str is *p, or "" for nil.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

var qtCoreFile = regexp.MustCompile(`/libQt(\d+)Core\.so[^/]*$`)

// versionedName is a library's file name that carries its full version.
var versionedName = regexp.MustCompile(`\.so\.(\d+\.\d+\.\d+)$`)

// qtCores lists the QtCore libraries in maps (a /proc/PID/maps), with the
// version the file name gives (libQt5Core.so.5.15.8) or else the one its
// build string says ("Qt 6.12.0 (x86_64-…"), which a PySide6 wheel's
// libQt6Core.so.6 needs.
func qtCores(dir string, maps []byte) []QtLib {
	var out []QtLib
	seen := map[string]bool{}
	for _, line := range strings.Split(string(maps), "\n") {
		// address perms offset dev inode path: the path is the rest of
		// the line, spaces and all.
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		path := strings.TrimLeft(line[strings.Index(line, f[4]+" ")+len(f[4]):], " ")
		ino, _ := strconv.ParseUint(f[4], 10, 64)
		if !qtCoreFile.MatchString(path) || seen[path] {
			continue
		}
		seen[path] = true
		l := QtLib{Path: path}
		if m := versionedName.FindStringSubmatch(path); m != nil {
			l.Version = m[1]
		} else {
			l.Version = buildVersion(ino, dir+"/root"+path, path)
		}
		out = append(out, l)
	}
	return out
}

// buildVersion finds QtCore's build string, "Qt X.Y.Z (" as
// QLibraryInfo::build() returns it, in the first of the files that is the
// mapped one (inode ino, a regular file: the process may have put a FIFO
// or a link to /dev/zero under the name since it mapped the library).
func buildVersion(ino uint64, paths ...string) string {
	const limit = 256 << 20 // QtCore is about 10 MB
	for _, path := range paths {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		f := os.NewFile(uintptr(fd), path)
		defer f.Close()
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Ino != ino {
			continue
		}
		// Chunks that overlap by the length of a match, so that none is cut.
		const chunk, overlap = 1 << 20, 64
		r := bufio.NewReaderSize(io.LimitReader(f, limit), chunk)
		buf := make([]byte, 0, chunk+overlap)
		for {
			n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if m := qtBuildString.FindSubmatch(buf); m != nil {
				return string(m[1]) + "." + string(m[2]) + "." + string(m[3])
			}
			if err != nil {
				return ""
			}
			buf = append(buf[:0], buf[len(buf)-overlap:]...)
		}
	}
	return ""
}

// sandboxOf names the sandboxes that process dir runs in, from the marks
// they leave: Flatpak's /.flatpak-info, a snap's cgroup or executable
// path, a container runtime's cgroup or marker file.
func sandboxOf(dir string) []string {
	var out []string
	exists := func(p string) bool { _, err := os.Stat(dir + "/root" + p); return err == nil }
	cgroup, _ := os.ReadFile(dir + "/cgroup")
	exe, _ := os.Readlink(dir + "/exe")
	if exists("/.flatpak-info") {
		out = append(out, "flatpak")
	}
	if strings.HasPrefix(exe, "/snap/") || bytes.Contains(cgroup, []byte("/snap.")) {
		out = append(out, "snap")
	}
	for _, mark := range []string{"docker", "containerd", "kubepods", "libpod", "lxc"} {
		if bytes.Contains(cgroup, []byte(mark)) {
			out = append(out, "container ("+mark+")")
			return out
		}
	}
	switch {
	case exists("/.dockerenv"):
		out = append(out, "container (docker)")
	case exists("/run/.containerenv"):
		out = append(out, "container (podman)")
	}
	return out
}

// ownerOf reads the owner, group and permission bits of the object k
// names.
func ownerOf(k qipc.Key, sem bool) (uid, gid int, mode string, ok bool) {
	table, idCol, path := ipcPlace(k, sem)
	switch {
	case k.Type.IsSystemV():
		key, err := ftokOf(k.Native, projectID(k.Type))
		if err != nil {
			return 0, 0, "", false
		}
		_, row, found := sysvLookup(table, idCol, key)
		if !found {
			return 0, 0, "", false
		}
		perms, err := strconv.ParseUint(row["perms"], 8, 32)
		if err != nil {
			return 0, 0, "", false
		}
		return atoi(row["uid"]), atoi(row["gid"]), fmt.Sprintf("%04o", perms&0o777), true
	case k.Type == qipc.PosixRealtime:
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil {
			return 0, 0, "", false
		}
		return int(st.Uid), int(st.Gid), fmt.Sprintf("%04o", st.Mode&0o777), true
	}
	return 0, 0, "", false
}
