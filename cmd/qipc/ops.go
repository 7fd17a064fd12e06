package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/qipc-go/qipc"
	"github.com/qipc-go/qipc/internal/glibcsem"
)

// forwardedSignals end a command's waits, and are what `qipc lock` passes
// on to its command.
var forwardedSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// ---- key ----

func cmdKey(args []string) int {
	var kf keyFlags
	fs := newFlags("key", "NAME [--type posix|systemv|systemv-N|windows] [--legacy]", `
Prints the native keys Qt derives for NAME: the shared-memory segment, the
semaphore its QSharedMemory::lock() uses, and a QSystemSemaphore(NAME), each
as the OS-level name and in Qt's QNativeIpcKey::toString() form.
Without --type the type is Qt 6.6+'s default (posix here); with --legacy the
names are those of Qt 4.4 to 6.5 (QSharedMemory::legacyNativeKey), whose
default type is systemv on Linux.`)
	kf.register(fs)
	pos, _, stop := fs.parse(args, 1, 1)
	if stop >= 0 {
		return stop
	}
	name := pos[0]
	if name == "" {
		return fs.usage("empty NAME")
	}
	if kf.typ != "" {
		if _, err := parseType(kf.typ); err != nil {
			return fs.usage("%v", err)
		}
	}
	// A plain name only: the key form is what this command prints.
	k, err := kf.resolveName(name, false)
	if err != nil {
		return fail("key", name, err)
	}
	sk, err := kf.resolveName(name, true)
	if err != nil {
		return fail("key", name, err)
	}
	lk := lockKey(k)
	fmt.Fprintf(stdout, "type:                %v\n", k.Type)
	fmt.Fprintf(stdout, "shared memory:       %s\n", k.Native)
	fmt.Fprintf(stdout, "shared memory key:   %s\n", k.String())
	fmt.Fprintf(stdout, "lock semaphore:      %s\n", lk.Native)
	fmt.Fprintf(stdout, "lock semaphore key:  %s\n", lk.String())
	fmt.Fprintf(stdout, "semaphore:           %s\n", sk.Native)
	fmt.Fprintf(stdout, "semaphore key:       %s\n", sk.String())
	if !qipc.IsKeyTypeSupported(k.Type) {
		fmt.Fprintf(stdout, "note: %v keys are not supported on this system\n", k.Type)
	}
	return exitOK
}

// resolveName derives a key from a plain name, never parsing it as a key.
func (kf *keyFlags) resolveName(name string, sem bool) (qipc.Key, error) {
	forced := *kf
	if forced.typ == "" && !forced.legacy {
		forced.typ = qipc.DefaultKeyType().String()
	}
	return forced.resolve(name, sem)
}

// ---- attaching with progress and cancellation ----

// session is one attachment of a segment made by this tool. It never
// removes the segment when it ends (WithoutCleanup), and it removes the
// lock semaphore only when attaching made it (as Qt's owning
// QSystemSemaphore would).
type session struct {
	cmd       string
	key       qipc.Key
	m         *qipc.SharedMemory
	lockWas   bool // the lock semaphore existed before we attached
	lockKnown bool
	fileWas   bool // the lock's System V key file existed before
	waiting   bool // the progress line was printed
}

// foreignFlag is --foreign-owners of the commands that attach: like a
// program, they refuse a segment, lock or key file of another user (root
// too: qipc.WithForeignOwners), unless told.
type foreignFlag bool

func (f *foreignFlag) register(fs *flagSet) {
	fs.BoolVar((*bool)(f), "foreign-owners", false, "use a segment, lock or key file that another user owns (refused by default, also for root)")
}

// why adds the flag to a refusal of another user's object.
func (f foreignFlag) why(err error) error {
	if errors.Is(err, qipc.ErrForeignOwner) {
		return fmt.Errorf("%s; --foreign-owners uses it anyway", errText(err))
	}
	return err
}

// open attaches key with mode. Attaching takes the Qt lock for a moment (as
// Qt does); if that waits, a progress line is printed, and ctx ends it.
// An observer (qipc.Observer) makes no lock semaphore or key file where
// there is none; the others make them, as Qt's attach does, and remove
// them again at the end.
func open(ctx context.Context, cmd string, key qipc.Key, mode qipc.AccessMode, observe bool, timeout time.Duration, foreign foreignFlag) (*session, error) {
	s := &session{cmd: cmd, key: key}
	opts := []qipc.Option{qipc.WithoutCleanup()}
	if observe {
		opts = append(opts, qipc.Observer())
	} else {
		s.lockWas, s.lockKnown = lockExists(lockKey(key))
		s.fileWas = keyFileExists(lockKey(key))
	}
	if foreign {
		opts = append(opts, qipc.WithForeignOwners())
	}
	s.m = qipc.NewSharedMemory(key, opts...)
	done := make(chan error, 1)
	go func() { done <- s.m.AttachContext(ctx, mode) }()
	slow := time.NewTimer(200 * time.Millisecond)
	defer slow.Stop()
	for {
		select {
		case err := <-done:
			switch {
			case err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
				s.end()
				return nil, gaveUp(ctx, timeout, err)
			case err != nil:
				s.end()
				return nil, foreign.why(err)
			}
			return s, nil
		case <-slow.C:
			s.progress()
		}
	}
}

// gaveUp explains a wait for the lock that ctx ended, with who holds the
// lock where the library could tell (qipc.Error.Remedy).
func gaveUp(ctx context.Context, timeout time.Duration, err error) error {
	var qe *qipc.Error
	if errors.As(err, &qe) && qe.Remedy() != "" {
		return fmt.Errorf("%w: %s", waitCause(ctx, timeout), qe.Remedy())
	}
	return waitCause(ctx, timeout)
}

func (s *session) progress() {
	if !s.waiting {
		s.waiting = true
		fmt.Fprintf(stderr, "qipc: %s: waiting for the lock on %s (Ctrl-C to give up)\n", s.cmd, s.key)
	}
}

// lock takes the segment's Qt lock, trying first so that the progress line
// is printed only when it has to wait.
func (s *session) lock(ctx context.Context, timeout time.Duration) error {
	ok, err := s.m.TryLock()
	if err != nil || ok {
		return err
	}
	s.progress()
	if err := s.m.LockContext(ctx); err != nil {
		if ctx.Err() != nil {
			return gaveUp(ctx, timeout, err)
		}
		return err
	}
	return nil
}

// underLock runs fn holding the segment's Qt lock (unless locking is
// false), and gives the lock back however fn ends.
func (s *session) underLock(ctx context.Context, timeout time.Duration, locking bool, fn func() error) error {
	if !locking {
		return fn()
	}
	if err := s.lock(ctx, timeout); errors.Is(err, qipc.ErrNoLock) {
		s.noLockNote()
		return fn()
	} else if err != nil {
		return err
	}
	return errors.Join(fn(), s.m.Unlock())
}

// noLockNote says that an observer reads without the lock: the segment has
// no lock semaphore (its owner removed it, or never made one), and the
// observer makes none.
func (s *session) noLockNote() {
	fmt.Fprintf(stderr, "qipc: %s: %s has no lock semaphore now; reading without the lock\n", s.cmd, s.key)
}

// end detaches and closes, keeping the segment.
func (s *session) end() error {
	err := s.m.Close()
	s.dropNewLock()
	if errors.Is(err, qipc.ErrClosed) {
		err = nil
	}
	return err
}

func (s *session) dropNewLock() {
	if s.lockKnown && !s.lockWas {
		dropLock(s.key, lockKey(s.key), s.fileWas)
	}
}

// ---- info ----

func cmdInfo(args []string) int {
	var kf keyFlags
	var asJSON, sem bool
	fs := newFlags("info", "KEY [--sem] [--json] [--type T] [--legacy]", keyHelp+`

Shows the segment named by KEY (or with --sem the semaphore), its key file
and its lock semaphore, as `+"`qipc ls`"+` shows them, without attaching or
creating anything. Fails (exit 1) when none of them exists.`)
	kf.register(fs)
	fs.BoolVar(&asJSON, "json", false, "print the objects as a JSON array (fields as in `qipc ls --json`)")
	fs.BoolVar(&sem, "sem", false, "KEY names a semaphore (plain names derive the semaphore key)")
	k, pos, code := kf.parseKey(fs, args, 1, 1, &sem)
	if code >= 0 {
		return code
	}
	objs, err := scan()
	if err != nil {
		return fail("info", k.String(), err)
	}
	var mine []*Object
	lk := lockKey(k)
	for _, o := range objs {
		if o.matches(k) || (!sem && o.matches(lk)) {
			mine = append(mine, o)
		}
	}
	if asJSON {
		if mine == nil {
			mine = []*Object{}
		}
		if err := writeJSON(stdout, mine); err != nil {
			return fail("info", k.String(), err)
		}
	} else {
		fmt.Fprintf(stdout, "key:        %s\n", k)
		fmt.Fprintf(stdout, "native:     %s\n", k.Native)
		if !sem {
			fmt.Fprintf(stdout, "lock key:   %s\n", lk)
		}
		if k.Type == qipc.PosixRealtime && glibcsem.Libc != "" {
			// A hang between processes of different C libraries is
			// not detectable; say the rule where it applies.
			fmt.Fprintf(stdout, "semaphores: %s's (POSIX semaphores are libc-specific: a glibc and a musl process cannot share one; System V can)\n", glibcsem.Libc)
		}
		for _, o := range mine {
			fmt.Fprintln(stdout)
			o.describe(stdout)
		}
	}
	if len(mine) == 0 {
		what := "segment"
		if sem {
			what = "semaphore"
		}
		return fail("info", k.String(), fmt.Errorf("no such %s, lock or key file%s", what, elsewhere(pos[0], sem, k)))
	}
	return exitOK
}

// ---- cat ----

func cmdCat(args []string) int {
	var kf keyFlags
	var foreign foreignFlag
	var asHex, nolock bool
	var timeout time.Duration
	var offset, length int
	var qf qdsFlags
	fs := newFlags("cat", "KEY [--hex] [--offset N] [--length N] [--nolock] [--timeout D] [--foreign-owners] [--qdatastream [--types LIST]] [--image FILE]", keyHelp+qdsHelp+`

Attaches the segment read-only and writes its bytes to stdout, raw or with
--hex in the style of hexdump -C. The bytes are read under the segment's Qt
lock, as QSharedMemory::lock() would take it (a progress line is printed if
that waits; Ctrl-C gives up). The segment is never removed by this command, and nothing is made: where
the segment has no lock semaphore, it reads without the lock and says so
(Qt's attach, and qipc write and lock, would make the semaphore).`)
	kf.register(fs)
	fs.BoolVar(&asHex, "hex", false, "print a hexdump -C style dump instead of raw bytes")
	fs.BoolVar(&nolock, "nolock", false, "read without taking the Qt lock")
	foreign.register(fs)
	fs.DurationVar(&timeout, "timeout", 0, "give up waiting for the lock after `D` (e.g. 5s)")
	fs.IntVar(&offset, "offset", 0, "start at byte `N`")
	fs.IntVar(&length, "length", -1, "print at most `N` bytes")
	qf.register(fs)
	k, pos, code := kf.parseKey(fs, args, 1, 1, nil)
	if code >= 0 {
		return code
	}
	if offset < 0 {
		return fs.usage("negative --offset")
	}
	ctx, cancel := signalContext(timeout)
	defer cancel()
	s, err := open(ctx, "cat", k, qipc.ReadOnly, true, timeout, foreign)
	if err != nil {
		return fail("cat", k.String(), withElsewhere(pos[0], false, k, err))
	}
	if qf.active() {
		return qf.run(ctx, s, offset, nolock)
	}
	var buf []byte
	err = func() error {
		size := s.m.Size()
		if offset > size {
			return fmt.Errorf("offset %d is past the end of the segment (%d bytes)", offset, size)
		}
		end := size
		if length >= 0 && offset+length < end {
			end = offset + length
		}
		buf = make([]byte, end-offset)
		// ReadAt, not Data: a peer that shrinks the segment meanwhile
		// makes it an error, not a SIGBUS that would end this process
		// with the lock taken.
		return s.underLock(ctx, timeout, !nolock, func() error {
			_, err := s.m.ReadAt(buf, int64(offset))
			return err
		})
	}()
	if e := s.end(); err == nil {
		err = e
	}
	if err != nil {
		return fail("cat", k.String(), err)
	}
	w := bufio.NewWriter(stdout)
	if asHex {
		hexdump(w, buf, offset)
	} else {
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		return fail("cat", k.String(), err)
	}
	return exitOK
}

// hexdump writes b as `hexdump -C` does, with addresses starting at base.
func hexdump(w io.Writer, b []byte, base int) {
	var prev []byte
	star := false
	for i := 0; i < len(b); i += 16 {
		line := b[i:min(i+16, len(b))]
		if prev != nil && len(line) == 16 && string(line) == string(prev) {
			if !star {
				fmt.Fprintln(w, "*")
				star = true
			}
			continue
		}
		star = false
		prev = line
		var sb strings.Builder
		fmt.Fprintf(&sb, "%08x ", base+i)
		for j := 0; j < 16; j++ {
			if j == 8 {
				sb.WriteByte(' ')
			}
			if j < len(line) {
				fmt.Fprintf(&sb, " %02x", line[j])
			} else {
				sb.WriteString("   ")
			}
		}
		sb.WriteString("  |")
		for _, c := range line {
			if c >= 0x20 && c < 0x7f {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteString("|")
		fmt.Fprintln(w, sb.String())
	}
	fmt.Fprintf(w, "%08x\n", base+len(b))
}

// ---- write ----

func cmdWrite(args []string) int {
	var kf keyFlags
	var foreign foreignFlag
	var offset int
	var timeout time.Duration
	var hexArg string
	fs := newFlags("write", "KEY [--offset N] [--hex HEX] [--timeout D] [--foreign-owners] < DATA", keyHelp+`

Reads stdin (or takes --hex), attaches the segment, takes its Qt lock (the
one QSharedMemory::lock() takes), copies the bytes to offset N, unlocks and
detaches. Data that would not fit is refused before anything is written.`)
	kf.register(fs)
	fs.IntVar(&offset, "offset", 0, "write at byte `N`")
	fs.StringVar(&hexArg, "hex", "", "write these bytes, given in hex, instead of stdin")
	foreign.register(fs)
	fs.DurationVar(&timeout, "timeout", 0, "give up waiting for the lock after `D`")
	k, pos, code := kf.parseKey(fs, args, 1, 1, nil)
	if code >= 0 {
		return code
	}
	if offset < 0 {
		return fs.usage("negative --offset")
	}
	var data []byte
	var err error
	if hexArg != "" {
		if data, err = hex.DecodeString(hexArg); err != nil {
			return fs.usage("--hex: %v", err)
		}
	} else if data, err = io.ReadAll(stdin); err != nil {
		return fail("write", k.String(), fmt.Errorf("reading stdin: %w", err))
	}
	ctx, cancel := signalContext(timeout)
	defer cancel()
	s, err := open(ctx, "write", k, qipc.ReadWrite, false, timeout, foreign)
	if err != nil {
		return fail("write", k.String(), withElsewhere(pos[0], false, k, err))
	}
	err = func() error {
		size := s.m.Size()
		if offset > size || len(data) > size-offset {
			return fmt.Errorf("%d bytes at offset %d do not fit in the segment (%d bytes)", len(data), offset, size)
		}
		return s.underLock(ctx, timeout, true, func() error {
			_, err := s.m.WriteAt(data, int64(offset))
			return err
		})
	}()
	if e := s.end(); err == nil {
		err = e
	}
	if err != nil {
		return fail("write", k.String(), err)
	}
	return exitOK
}

// ---- create ----

func cmdCreate(args []string) int {
	var kf keyFlags
	var perm string
	fs := newFlags("create", "KEY SIZE [--perm MODE] [--type T] [--legacy]", keyHelp+`

Creates a segment of SIZE bytes (zero-filled) as QSharedMemory::create()
does, and leaves it, its lock semaphore and their key files in place when
it exits (Qt 6.6+'s opt-out of clean-up), for other programs to attach.
Remove it later with `+"`qipc rm KEY`"+`.`)
	kf.register(fs)
	fs.StringVar(&perm, "perm", "0600", "permission bits of the new objects, in octal (Qt uses 0600)")
	k, pos, code := kf.parseKey(fs, args, 2, 2, nil)
	if code >= 0 {
		return code
	}
	size, err := strconv.Atoi(pos[1])
	if err != nil || size <= 0 {
		return fs.usage("SIZE must be a positive number of bytes, not %q", pos[1])
	}
	p, err := strconv.ParseUint(perm, 8, 32)
	if err != nil || p > 0o777 {
		return fs.usage("--perm must be octal permission bits such as 0600, not %q", perm)
	}
	m := qipc.NewSharedMemory(k, qipc.WithoutCleanup(), qipc.WithPermissions(os.FileMode(p)))
	if err := m.Create(size, qipc.ReadWrite); err != nil {
		_ = m.Close()
		return fail("create", k.String(), err)
	}
	got := m.Size()
	if err := m.Close(); err != nil {
		return fail("create", k.String(), err)
	}
	fmt.Fprintf(stdout, "created %s (%d bytes)\n", k, got)
	return exitOK
}

// ---- lock ----

func cmdLock(args []string) int {
	var kf keyFlags
	var foreign foreignFlag
	var timeout time.Duration
	fs := newFlags("lock", "KEY [--timeout D] [--foreign-owners] -- CMD [ARGS...]", keyHelp+`

Attaches the segment, takes the lock a Qt program's QSharedMemory::lock()
takes (printing a progress line if it has to wait; Ctrl-C gives up), runs
CMD with stdin, stdout and stderr passed through, then unlocks. SIGINT,
SIGTERM and SIGHUP that arrive while CMD runs are passed on to it, and the
lock is given back however CMD ends (only SIGKILL of this process leaves a
POSIX lock taken). The exit status is CMD's (128+signal if a signal ended
it); 1 if the lock could not be taken or CMD could not be started.`)
	kf.register(fs)
	fs.DurationVar(&timeout, "timeout", 0, "give up waiting for the lock after `D`")
	foreign.register(fs)
	pos, rest, stop := fs.parse(args, 1, -1)
	if stop >= 0 {
		return stop
	}
	if rest == nil {
		rest = pos[1:]
	} else if len(pos) > 1 {
		return fs.usage("unexpected argument %q before --", pos[1])
	}
	if len(rest) == 0 {
		return fs.usage("missing CMD")
	}
	k, err := kf.resolve(pos[0], false)
	if err != nil {
		return badKey("lock", pos[0], err)
	}
	ctx, cancel := signalContext(timeout)
	defer cancel()
	s, err := open(ctx, "lock", k, qipc.ReadOnly, false, timeout, foreign)
	if err != nil {
		return fail("lock", k.String(), withElsewhere(pos[0], false, k, err))
	}
	if err := s.lock(ctx, timeout); err != nil {
		_ = s.end()
		return fail("lock", k.String(), err)
	}
	// From here a signal must not end this process with the lock taken
	// (a POSIX lock would stay taken for good): SIGINT, SIGTERM and SIGHUP
	// go to CMD, and the lock is given back however CMD ends. Notify
	// before the wait's own handling stops, so that none is missed.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	interrupted := ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	status := exitFail
	if interrupted {
		// A signal came between taking the lock and the line above: do
		// not start CMD.
		fmt.Fprintf(stderr, "qipc: lock: %s: interrupted\n", k)
	} else {
		status = runForwarding(rest, sigs, k)
	}
	err = s.m.Unlock()
	if e := s.end(); err == nil {
		err = e
	}
	if err != nil {
		fail("lock", k.String(), err)
		if status == exitOK {
			status = exitFail
		}
	}
	return status
}

// runForwarding runs argv with this process's standard streams, sends it
// the signals that arrive on sigs, and returns its exit status (128+signal
// when a signal ended it).
func runForwarding(argv []string, sigs <-chan os.Signal, k qipc.Key) int {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Start(); err != nil {
		fmt.Fprintf(stderr, "qipc: lock: %s: %v\n", k, err)
		return exitFail
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				_ = c.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err := c.Wait()
	close(done)
	status := exitOK
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
			if status < 0 {
				status = exitFail
				if ws, ok := ee.Sys().(interface{ Signal() syscall.Signal }); ok {
					status = 128 + int(ws.Signal())
				}
			}
		} else {
			fmt.Fprintf(stderr, "qipc: lock: %s: %v\n", k, err)
			status = exitFail
		}
	}
	return status
}

// ---- sem ----

func cmdSem(args []string) int {
	var kf keyFlags
	var timeout time.Duration
	fs := newFlags("sem", "create|acquire|release|value KEY [N] [--timeout D] [--type T] [--legacy]", keyHelp+`

  create KEY [N]    QSystemSemaphore(KEY, N, Create): set the count to N (default
                    1), creating the semaphore if needed; it is kept afterwards
  acquire KEY [N]   take N counts (default 1), waiting for each (progress line
                    when it waits; Ctrl-C or --timeout gives up)
  release KEY [N]   add N counts (default 1)
  value KEY         print the current count

acquire, release and value need an existing semaphore. Plain names derive
the semaphore key (QSystemSemaphore's, prefix qipc_systemsem_ with --legacy).
On System V, Qt applies SEM_UNDO to every operation, so the kernel undoes a
process's acquires and releases when it exits: they last only while qipc runs.`)
	kf.register(fs)
	fs.DurationVar(&timeout, "timeout", 0, "give up acquiring after `D`")
	pos, _, stop := fs.parse(args, 2, 3)
	if stop >= 0 {
		return stop
	}
	op := pos[0]
	switch op {
	case "create", "acquire", "release", "value":
	default:
		return fs.usage("unknown operation %q (want create, acquire, release or value)", op)
	}
	n := 1
	if len(pos) == 3 {
		if op == "value" {
			return fs.usage("value takes no count")
		}
		v, err := strconv.Atoi(pos[2])
		if err != nil || v < 0 || (v == 0 && op != "create") {
			return fs.usage("bad count %q", pos[2])
		}
		n = v
	}
	k, err := kf.resolve(pos[1], true)
	if err != nil {
		return badKey("sem "+op, pos[1], err)
	}
	ks := k.String()
	if op != "create" {
		if exists, known := lockExists(k); known && !exists {
			return fail("sem "+op, ks, errors.New("no such semaphore"))
		}
	}
	mode := qipc.SemaphoreOpen
	if op == "create" {
		mode = qipc.SemaphoreCreate
	}
	sem, err := qipc.NewSemaphore(k, n, mode, qipc.WithoutCleanup())
	if err != nil {
		return fail("sem "+op, ks, err)
	}
	defer sem.Close()
	if k.Type.IsSystemV() && (op == "acquire" || op == "release") {
		fmt.Fprintf(stderr, "qipc: sem %s: %s: note: System V undoes this when qipc exits (SEM_UNDO, as in Qt)\n", op, ks)
	}
	switch op {
	case "create":
		fmt.Fprintf(stdout, "created %s (count %d)\n", k, n)
	case "value":
		v, err := sem.Value()
		if err != nil {
			return fail("sem value", ks, err)
		}
		fmt.Fprintln(stdout, v)
	case "release":
		if err := sem.Release(n); err != nil {
			return fail("sem release", ks, err)
		}
	case "acquire":
		ctx, cancel := signalContext(timeout)
		defer cancel()
		waiting := false
		for i := 0; i < n; i++ {
			ok, err := sem.TryAcquire()
			if err == nil && !ok {
				if !waiting {
					waiting = true
					fmt.Fprintf(stderr, "qipc: sem acquire: waiting for %s (Ctrl-C to give up)\n", k)
				}
				err = sem.AcquireContext(ctx)
				if err != nil && ctx.Err() != nil {
					err = waitCause(ctx, timeout)
				}
			}
			if err != nil {
				if i > 0 {
					_ = sem.Release(i) // give back what this call took
				}
				return fail("sem acquire", ks, err)
			}
		}
	}
	return exitOK
}

// ---- rm ----

func cmdRm(args []string) int {
	var kf keyFlags
	var force, sem bool
	fs := newFlags("rm", "KEY [--sem] [--force] [--type T] [--legacy]", keyHelp+`

Removes the segment named by KEY, its key file and its lock semaphore
(qipc.RemoveSharedMemory), or with --sem the semaphore named by KEY and its
key file (qipc.RemoveSemaphore). Refuses while processes have the segment
attached (System V nattch, or POSIX mappings found in /proc/*/maps) unless
--force; their mappings stay valid, but no one can attach again.

A System V key file goes, with its object or alone when there is none, only
if it is a key file as Qt and qipc make them: an empty regular file owned by
this user (for root, also one owned by the owner of the object removed)
whose ftok key is the object's. Any other file named by KEY (one with
content, another user's) is left as it is, and rm says so; a symbolic or
hard link is refused.
rm works on other users' objects as far as the system lets this user
(root: all of them).`)
	kf.register(fs)
	fs.BoolVar(&force, "force", false, "remove even while processes are attached")
	fs.BoolVar(&sem, "sem", false, "KEY names a semaphore, not a segment")
	k, pos, code := kf.parseKey(fs, args, 1, 1, &sem)
	if code >= 0 {
		return code
	}
	ks := k.String()
	file := lstatKeyFile(k)
	if sem {
		if exists, known := lockExists(k); known && !exists {
			if err := qipc.RemoveSemaphore(k); err != nil {
				return fail("rm", ks, err)
			}
			return fail("rm", ks, errors.New("no such semaphore"+elsewhere(pos[0], true, k)+keyFileFate(k, file, true)))
		}
		if err := qipc.RemoveSemaphore(k); err != nil {
			return fail("rm", ks, err)
		}
		fmt.Fprintf(stdout, "removed semaphore %s%s\n", ks, keyFileFate(k, file, false))
		return exitOK
	}
	if pids, n, known := attachedTo(k); known && n > 0 && !force {
		who := ""
		if len(pids) > 0 {
			who = fmt.Sprintf(" (pids %s)", joinInts(pids))
		}
		return fail("rm", ks, fmt.Errorf("%d process(es) attached%s; use --force to remove it anyway", n, who))
	}
	if err := qipc.RemoveSharedMemory(k); err != nil {
		if errors.Is(err, qipc.ErrNotFound) {
			return fail("rm", ks, errors.New("no such segment"+elsewhere(pos[0], false, k)+keyFileFate(k, file, true)))
		}
		return fail("rm", ks, err)
	}
	fmt.Fprintf(stdout, "removed %s%s\n", ks, keyFileFate(k, file, false))
	return exitOK
}

// lstatKeyFile is what the System V key file of k was before a removal
// (nil: none, or not System V).
func lstatKeyFile(k qipc.Key) os.FileInfo {
	if !k.Type.IsSystemV() {
		return nil
	}
	fi, err := os.Lstat(k.Native)
	if err != nil {
		return nil
	}
	return fi
}

// keyFileFate says what became of the key file that was before (the
// library removes only what its rule proves to be a key file, and tells
// nothing of a file it leaves): "" when there was none, or when it went
// along with its object as it should.
func keyFileFate(k qipc.Key, before os.FileInfo, lone bool) string {
	if before == nil {
		return ""
	}
	after, err := os.Lstat(k.Native)
	switch {
	case err == nil && os.SameFile(before, after):
		return "; " + k.Native + " left as it is: not a key file this user may remove (see qipc rm --help)"
	case lone:
		return "; removed its lone key file " + k.Native
	}
	return ""
}

// elsewhere is the hint for a plain NAME that named nothing: the flags
// under which the same name names a segment (or semaphore) that exists.
// Qt <= 6.5 derived names one way and Qt 6.6+ another, and the type
// defaults differ, so a user's first guess often misses.
func elsewhere(arg string, sem bool, tried qipc.Key) string {
	if looksLikeKey(arg) {
		return ""
	}
	var found []string
	for _, legacy := range []bool{false, true} {
		for _, typ := range []string{"posix", "systemv"} {
			kf := keyFlags{typ: typ, legacy: legacy}
			k, err := kf.resolve(arg, sem)
			if err != nil || k.String() == tried.String() {
				continue
			}
			exists := segmentExists
			if sem {
				exists = lockExists
			}
			if ok, _ := exists(k); ok {
				flags := "--type " + typ
				if legacy {
					flags += " --legacy"
				}
				found = append(found, fmt.Sprintf("%s (%s)", flags, k))
			}
		}
	}
	if len(found) == 0 {
		return ""
	}
	return "; the name exists with " + strings.Join(found, ", or ")
}

// withElsewhere adds to a NotFound for arg the flags under which the
// name exists (elsewhere), as rm says them.
func withElsewhere(arg string, sem bool, tried qipc.Key, err error) error {
	if !errors.Is(err, qipc.ErrNotFound) {
		return err
	}
	if hint := elsewhere(arg, sem, tried); hint != "" {
		return errors.New(errText(err) + hint) // fail prints Qt's text of an *Error, which has no room for it
	}
	return err
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// ---- ls / clean ----

func cmdLs(args []string) int {
	var asJSON bool
	fs := newFlags("ls", "[--json] [--match STR] [--id KIND:N]", `
Lists every Qt-style IPC object on this machine: POSIX segments (/dev/shm/*)
and semaphores (/dev/shm/sem.*), System V segments and semaphores
(/proc/sysvipc/shm, /proc/sysvipc/sem) whose key has Qt's ftok project id
0x51 or matches a key file, and Qt key files: qipc_sharedmemory_* and
qipc_systemsem_* in the temp directory ($TMPDIR canonicalised, default /tmp)
and regular files in the runtime directory ($XDG_RUNTIME_DIR or
<tmp>/runtime-<user>) that name an object. A key file is matched to objects
by ftok(file, id) = id<<24 | (st_dev&0xff)<<16 | (st_ino&0xffff); as other
project ids cannot be guessed, objects are matched on the low 24 bits and the
id found is reported (systemv-N keys).

STALE marks, with their reasons:
  - System V segment with no process attached whose creator is gone
  - STALE? (unverified): a key file with no object (a creator may be between
    opening it and shmget/semget), and a semaphore set whose key file is not
    in the directories scanned and whose last user is gone (a key file
    elsewhere may still name it; a set shows no one who has it open)
  - POSIX segment or semaphore that no process maps or holds open: proven by
    a kernel write lease, or by /proc/*/maps and fds matched by device and
    inode; when /proc cannot show every process (maps that cannot be read,
    a PID namespace of its own, hidepid) the mark is STALE? (unverified)
  - the lock semaphore of a stale segment
QT says what nothing but a Qt object would be: "Qt segment" or "Qt lock"
(legacy-derived names, a POSIX segment NAME beside sem.NAME, System V
objects with Qt's project id or an empty key file), else "unknown".
`+"`qipc clean --stale`"+` removes what is marked and proven Qt's, re-checking each
object just before removing it.

--json prints an array of objects with these fields:
  kind           "sysv-shm", "sysv-sem", "posix-shm", "posix-sem" or "keyfile"
  key            Qt's toString() form when known (System V legacy names lack
                 ?legacyKey=, which cannot be recovered from the file name)
  native         the OS-level name: key-file path or POSIX "/name"
  path           the file behind it: key file or /dev/shm entry ("" if none)
  id             System V shmid/semid (absent otherwise)
  ftok           System V key as "0x5100403b" (absent otherwise)
  project_id     the ftok project id in the key (81 = 0x51 is Qt's)
  owner, uid     owner's name and uid
  mode           permission bits, octal string ("0600")
  size           bytes (segments), number of semaphores in the set (sysv-sem)
  nattch         attach count: System V shm_nattch, or the number of
                 processes mapping a POSIX object
  pids           the processes mapping a POSIX object
  cpid, lpid     System V creator pid and last shmat/shmdt pid (segments);
                 lpid is the last semop pid for semaphores
  value          semaphore count, when it can be read
  waiters        processes waiting for a count (System V GETNCNT, glibc's
                 waiter count), when it can be read
  holder, holder_name
                 for a segment's lock semaphore whose count is 0 (a held
                 lock): the process that probably holds it, and its command
                 name: System V's last semop pid while it runs, or the only
                 process mapping a POSIX one
  holder_why     how the holder was found, or why it was not
  changed        last change time, RFC 3339
  lock           for segments: the path of the lock semaphore's key file or
                 /dev/shm entry
  stale          true when marked STALE
  reasons        why (empty when not stale)
  unverified     true when the mark could not be checked against every
                 process (clean then skips it without --force)
  qt             "segment", "lock" or "unknown": what the object is proven
                 to be (clean leaves "unknown" alone)`)
	fs.BoolVar(&asJSON, "json", false, "print a JSON array (fields above)")
	var sel selection
	sel.register(fs, "list")
	if _, _, stop := fs.parse(args, 0, 0); stop >= 0 {
		return stop
	}
	if err := sel.check(); err != nil {
		return fs.usage("%v", err)
	}
	objs, err := sel.scan()
	if err != nil {
		return fail("ls", "", err)
	}
	if asJSON {
		if objs == nil {
			objs = []*Object{}
		}
		if err := writeJSON(stdout, objs); err != nil {
			return fail("ls", "", err)
		}
		return exitOK
	}
	printTable(stdout, objs)
	return exitOK
}

func cmdClean(args []string) int {
	var stale, dryRun, force bool
	fs := newFlags("clean", "--stale [--dry-run] [--force] [--match STR] [--id KIND:N]", `
Removes what `+"`qipc ls`"+` marks STALE and proves Qt's, and only that, printing
one line per action: System V segments and semaphores by id (IPC_RMID) with
their key files, lone key files, and POSIX segments and semaphores
(shm_unlink / sem_unlink). An object that live processes have attached
(System V nattch, POSIX mappings, a semaphore last used by a live process
or waited on) or whose mark could not be verified is skipped unless
--force; objects of unknown origin always are (qipc rm removes one by
name). Each object is checked again just before it goes: the same inode or
id, still unused (a POSIX file under a kernel write lease), a key file
still empty and with no System V object on it.

A System V semaphore set whose key file is gone (a Qt program that made
the lock under another process's key file and then died leaves one) has no
name left: nothing records the one it had. --id sysv-sem:N names it by the
id ls prints; so named, a free lock (count 1) whose last user is gone and
on which no one waits goes although a key file outside the directories
scanned could still name it. System V does not tell who else took a count
earlier and still runs: name only a set you know to be such an orphan.`)
	fs.BoolVar(&stale, "stale", false, "remove the objects marked STALE (required)")
	fs.BoolVar(&dryRun, "dry-run", false, "print what would be removed, remove nothing")
	fs.BoolVar(&force, "force", false, "also remove stale objects that live processes use")
	var sel selection
	sel.register(fs, "clean")
	if _, _, stop := fs.parse(args, 0, 0); stop >= 0 {
		return stop
	}
	if !stale {
		return fs.usage("--stale is required (only stale objects are ever cleaned)")
	}
	if err := sel.check(); err != nil {
		return fs.usage("%v", err)
	}
	objs, err := sel.scan()
	if err != nil {
		return fail("clean", "", err)
	}
	status := exitOK
	n := 0
	for _, o := range objs {
		if !o.Stale {
			continue
		}
		if o.Qt == qtUnknown {
			fmt.Fprintf(stdout, "skip %s: nothing proves it Qt's (qipc rm removes it by name)\n", o.label())
			continue
		}
		if why := o.inUse(sel.named1(o)); why != "" && !force {
			fmt.Fprintf(stdout, "skip %s: %s (use --force)\n", o.label(), why)
			continue
		}
		n++
		if dryRun {
			fmt.Fprintf(stdout, "would remove %s (%s)\n", o.label(), strings.Join(o.Reasons, "; "))
			continue
		}
		for _, a := range o.removeActions(force) {
			var skip errSkipped
			if err := a.do(); errors.As(err, &skip) {
				fmt.Fprintf(stdout, "skip %s: %s\n", a.what, skip.why)
				break
			} else if err != nil {
				fmt.Fprintf(stderr, "qipc: clean: %s: %s\n", a.what, errText(err))
				status = exitFail
				continue
			}
			fmt.Fprintf(stdout, "removed %s\n", a.what)
		}
	}
	if n == 0 {
		fmt.Fprintln(stdout, "nothing stale to remove")
	}
	return status
}

// selection is what `qipc ls` and `qipc clean` look at: --match and --id.
type selection struct {
	match string
	id    string // "sysv-shm:N", "sysv-sem:N" or "N"
}

func (s *selection) register(fs *flagSet, verb string) {
	fs.StringVar(&s.match, "match", "", verb+" only objects whose key or path contains `STR`, whose System V key is STR (0x5100403b), or that a Qt <= 6.5 program makes for the key name STR")
	fs.StringVar(&s.id, "id", "", verb+" only the System V object with this id: `KIND:N` as ls prints them (sysv-shm:N, sysv-sem:N), or N for either kind; "+
		"the one way to name a set whose key file is gone")
}

// check reports a malformed --id: KIND:N or N, N a number as ls prints
// it (no sign, no leading zero), so that nothing that can match nothing
// passes as a selection.
func (s selection) check() error {
	if s.id == "" {
		return nil
	}
	kind, n, found := strings.Cut(s.id, ":")
	if !found {
		kind, n = "", s.id
	}
	v, err := strconv.Atoi(n)
	if err != nil || strconv.Itoa(v) != n || v < 0 || found && kind != kindSysvShm && kind != kindSysvSem {
		return fmt.Errorf("--id %q: want sysv-shm:N, sysv-sem:N or N, N as ls prints it", s.id)
	}
	return nil
}

// named reports whether --id selects o: N selects the segment and the set
// with that id, KIND:N the one of that kind.
func (s selection) named(o *Object) bool {
	if s.id == "" || o.ID == nil {
		return false
	}
	n := strconv.Itoa(*o.ID)
	return s.id == n || s.named1(o)
}

// named1 reports whether --id names o with its kind: only so named does a
// set's missing key file not keep clean from it (Object.inUse).
func (s selection) named1(o *Object) bool {
	return o.ID != nil && s.id == o.Kind+":"+strconv.Itoa(*o.ID)
}

// scan is the platform's scan limited to the objects selected: --id names
// one object; --match keeps those whose key, native name or path contains
// it, whose System V key it is, or that a Qt 4.4–6.5 program derives from
// the name (qtNames). Both given, an object must pass both.
func (s selection) scan() ([]*Object, error) {
	objs, err := scan()
	if err != nil || s.match == "" && s.id == "" {
		return objs, err
	}
	alts := append([]string{s.match}, qtNames(s.match)...)
	var keep []*Object
	for _, o := range objs {
		if s.id != "" && !s.named(o) {
			continue
		}
		for _, m := range alts {
			if m == "" && s.match == "" || m != "" && (strings.Contains(o.Key, m) || strings.Contains(o.Path, m) ||
				strings.Contains(o.Native, m) || o.Ftok != "" && strings.EqualFold(o.Ftok, m)) {
				keep = append(keep, o)
				break
			}
		}
	}
	return keep, nil
}

// qtNames are the base names a Qt 4.4–6.5 program gives the segment and the
// semaphore (the segment's lock) it makes for the key name: Qt drops the
// name's non-letters and appends a hash, so "Shared-nc.1" is not in them.
func qtNames(name string) []string {
	var out []string
	for _, k := range []qipc.Key{qipc.LegacySharedMemoryKey(name, qipc.SystemV), qipc.LegacySemaphoreKey(name, qipc.SystemV)} {
		if !k.IsEmpty() {
			out = append(out, path.Base(k.Native))
		}
	}
	return out
}
