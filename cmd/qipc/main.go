// Command qipc inspects and drives the IPC objects Qt programs share:
// QSharedMemory segments, their lock semaphores and QSystemSemaphores, on
// the System V, POSIX and Windows backends, named exactly as Qt names them.
//
// Usage:
//
//	qipc key NAME [--type T] [--legacy]     the native keys Qt derives for NAME
//	qipc ls [--json]                        every Qt-style object on this machine, STALE ones marked
//	qipc info KEY [--json]                  one segment, its key file and its lock
//	qipc cat KEY [--hex] [--nolock]         the segment's bytes (under the Qt lock)
//	qipc write KEY [--offset N]             stdin into the segment, under the Qt lock
//	qipc create KEY SIZE [--perm MODE]      create a segment and leave it for others
//	qipc lock KEY [--timeout D] -- CMD ...  hold the lock Qt's QSharedMemory::lock() takes while CMD runs
//	qipc sem create|acquire|release|value KEY [N] [--timeout D]
//	qipc rm KEY [--sem] [--force]           remove a segment (with key file and lock) or a semaphore
//	qipc clean --stale [--dry-run] [--force]
//	qipc doctor KEY-OR-NAME [--pid PID] [--json]  why a Qt program (PID) and this one do not meet
//
// KEY is Qt's QNativeIpcKey::toString() form ("posix:/name",
// "systemv:/tmp/qipc_sharedmemory_…?legacyKey=name") or a plain name with
// --type and --legacy, from which the key is derived as Qt derives it.
//
// Exit status: 0 success, 1 operational failure, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/qipc-go/qipc"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// stdout and stderr are variables so that the commands are easy to follow;
// the tests run the built binary.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
	stdin  io.Reader = os.Stdin
)

type command struct {
	name    string
	summary string
	run     func(args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"key", "print the native keys Qt derives for a name", cmdKey},
		{"ls", "list every Qt-style IPC object on this machine, marking STALE ones", cmdLs},
		{"info", "show one segment, its key file and its lock semaphore", cmdInfo},
		{"cat", "print a segment's bytes", cmdCat},
		{"write", "copy stdin into a segment under the Qt lock", cmdWrite},
		{"create", "create a segment and keep it after exiting", cmdCreate},
		{"lock", "run a command while holding the segment's Qt lock", cmdLock},
		{"sem", "create, acquire, release or read a system semaphore", cmdSem},
		{"rm", "remove a segment (with its key file and lock) or a semaphore", cmdRm},
		{"clean", "remove the objects `qipc ls` marks STALE", cmdClean},
		{"doctor", "explain why a Qt program and this one do not see the same objects", cmdDoctor},
	}
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		usageMain(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usageMain(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:])
		}
	}
	fmt.Fprintf(stderr, "qipc: unknown command %q\n", args[0])
	usageMain(stderr)
	return exitUsage
}

func usageMain(w io.Writer) {
	fmt.Fprintf(w, "usage: qipc COMMAND [ARGS...]   (qipc COMMAND --help for details)\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
KEY arguments are Qt's QNativeIpcKey::toString() form, e.g. posix:/myapp or
systemv:/tmp/qipc_sharedmemory_myapp94e7…?legacyKey=myapp, or a plain name
together with --type and/or --legacy (the key is then derived from the name
the way Qt derives it).

Exit status: 0 success, 1 operational failure, 2 usage error.
`)
}

// flagSet is a flag.FlagSet for one subcommand whose flags may come before,
// between or after the positional arguments; a literal "--" ends the flags
// and everything after it is returned separately (for `lock`).
type flagSet struct {
	*flag.FlagSet
	name     string
	synopsis string
	details  string
	help     bool
}

func newFlags(name, synopsis, details string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet("qipc "+name, flag.ContinueOnError), name: name, synopsis: synopsis, details: details}
	fs.SetOutput(io.Discard)
	fs.BoolVar(&fs.help, "help", false, "show this help")
	fs.BoolVar(&fs.help, "h", false, "show this help")
	return fs
}

func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: qipc %s %s\n", fs.name, fs.synopsis)
	if fs.details != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(fs.details))
	}
	has := false
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "h" && f.Name != "help" {
			has = true
		}
	})
	if has {
		fmt.Fprintf(w, "\noptions:\n")
		fs.SetOutput(w)
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "h" {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			if name != "" {
				name = " " + name
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "  --%s%s\n        %s%s\n", f.Name, name, usage, def)
		})
		fs.SetOutput(io.Discard)
	}
}

// parse parses args; it returns the positional arguments, the arguments
// after "--", and an exit status >= 0 when the command should stop (help
// printed, or a usage error reported).
func (fs *flagSet) parse(args []string, minPos, maxPos int) (pos, rest []string, stop int) {
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			if rest == nil {
				rest = []string{}
			}
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printHelp(stdout)
				return nil, nil, exitOK
			}
			return nil, nil, fs.usage("%v", err)
		}
		if fs.help {
			fs.printHelp(stdout)
			return nil, nil, exitOK
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) < minPos {
		return nil, nil, fs.usage("missing arguments")
	}
	if maxPos >= 0 && len(pos) > maxPos {
		return nil, nil, fs.usage("unexpected argument %q", pos[maxPos])
	}
	return pos, rest, -1
}

// usage reports a usage error for this subcommand and returns exitUsage.
func (fs *flagSet) usage(format string, a ...any) int {
	fmt.Fprintf(stderr, "qipc: %s: %s\nusage: qipc %s %s\n(qipc %s --help for details)\n",
		fs.name, fmt.Sprintf(format, a...), fs.name, fs.synopsis, fs.name)
	return exitUsage
}

// keyFlags are the options that turn a plain name into a key.
type keyFlags struct {
	typ    string
	legacy bool
}

func (kf *keyFlags) register(fs *flagSet) {
	fs.StringVar(&kf.typ, "type", "", "key type for a plain `NAME`: posix, systemv, systemv-N (ftok project id N) or windows")
	fs.BoolVar(&kf.legacy, "legacy", false, "derive the name as Qt 4.4 to 6.5 did (QSharedMemory::legacyNativeKey); the default type is then the legacy default (systemv on Linux)")
}

const keyHelp = `KEY is Qt's QNativeIpcKey::toString() form (posix:/name, systemv:/path,
systemv-N:/path, windows:name, optionally with ?legacyKey=NAME) or a plain
name; a plain name is turned into a key as Qt 6.6+ does (--type, default
posix) or as Qt <= 6.5 did (--legacy, default type systemv).`

// parseType parses a --type value.
func parseType(s string) (qipc.KeyType, error) {
	switch strings.ToLower(s) {
	case "posix", "posixrealtime":
		return qipc.PosixRealtime, nil
	case "systemv", "sysv":
		return qipc.SystemV, nil
	case "windows":
		return qipc.Windows, nil
	}
	if n, ok := strings.CutPrefix(strings.ToLower(s), "systemv-"); ok {
		id, err := strconv.Atoi(n)
		if err == nil && id >= 1 && id <= 0xff {
			return qipc.SystemVWithID(uint8(id)), nil
		}
	}
	return 0, fmt.Errorf("unknown key type %q (want posix, systemv, systemv-N with N in 1..255, or windows)", s)
}

// looksLikeKey reports whether s has a scheme Qt's key strings use.
func looksLikeKey(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	scheme = strings.ToLower(scheme)
	return scheme == "posix" || scheme == "windows" || scheme == "systemv" || strings.HasPrefix(scheme, "systemv-")
}

// resolve turns a KEY argument into a key. sem selects the semaphore
// derivation (SemaphoreKey / LegacySemaphoreKey) for plain names.
func (kf *keyFlags) resolve(arg string, sem bool) (qipc.Key, error) {
	if arg == "" {
		return qipc.Key{}, errors.New("empty key")
	}
	if kf.typ == "" && !kf.legacy && looksLikeKey(arg) {
		k, err := qipc.ParseKey(arg)
		if err != nil {
			return qipc.Key{}, errors.New(errText(err))
		}
		if k.IsEmpty() {
			return qipc.Key{}, errors.New("the native key is empty")
		}
		return k, nil
	}
	t := qipc.DefaultKeyType()
	if kf.legacy {
		t = qipc.LegacyDefaultKeyType()
	}
	if kf.typ != "" {
		var err error
		if t, err = parseType(kf.typ); err != nil {
			return qipc.Key{}, err
		}
	}
	var k qipc.Key
	switch {
	case kf.legacy && sem:
		k = qipc.LegacySemaphoreKey(arg, t)
	case kf.legacy:
		k = qipc.LegacySharedMemoryKey(arg, t)
	case sem:
		k = qipc.SemaphoreKey(arg, t)
	default:
		k = qipc.SharedMemoryKey(arg, t)
	}
	if k.IsEmpty() {
		return k, fmt.Errorf("no %v key can be derived from %q on this system", t, arg)
	}
	return k, nil
}

// lockKey returns the key of the semaphore a QSharedMemory with key k locks:
// the library's rule (lockKeyFor, unexported) rebuilt from its public API.
// A legacy key locks the legacy semaphore of its legacy name; otherwise the
// segment's own key (on Unix; Windows adds a suffix Qt keeps internal).
func lockKey(k qipc.Key) qipc.Key { return k.LockKey() }

// parseKey is the opening of the commands that take one key: it parses
// args (min to max arguments) and resolves the first as the key, a
// semaphore's when *sem (its flag is parsed with the rest). code >= 0 is
// the exit code to return at once: help, or a usage or key error.
func (kf *keyFlags) parseKey(fs *flagSet, args []string, min, max int, sem *bool) (k qipc.Key, pos []string, code int) {
	pos, _, code = fs.parse(args, min, max)
	if code >= 0 {
		return k, nil, code
	}
	k, err := kf.resolve(pos[0], sem != nil && *sem)
	if err != nil {
		return k, nil, badKey(fs.name, pos[0], err)
	}
	return k, pos, -1
}

// errText is the cause part of an error message: Qt's own errorString()
// text where the library has one.
func errText(err error) string {
	if s := qipc.QtErrorString(err); s != "" {
		if se := (*qipc.Error)(nil); errors.As(err, &se) && se.Err != nil && qipc.KindOf(err) != qipc.UnknownError {
			if c := se.Err.Error(); !strings.Contains(s, c) {
				return s + " (" + c + ")"
			}
		}
		return s
	}
	s := err.Error()
	return strings.TrimPrefix(s, "qipc: ")
}

// fail reports an operational failure: "qipc: <cmd>: <key>: <cause>".
func fail(cmd string, key string, err error) int {
	if key != "" {
		fmt.Fprintf(stderr, "qipc: %s: %s: %s\n", cmd, key, errText(err))
	} else {
		fmt.Fprintf(stderr, "qipc: %s: %s\n", cmd, errText(err))
	}
	return exitFail
}

// badKey reports a KEY argument that is not a key.
func badKey(cmd, arg string, err error) int {
	fmt.Fprintf(stderr, "qipc: %s: %s: bad key: %v\n", cmd, arg, err)
	return exitUsage
}

// signalContext is cancelled by Ctrl-C (and SIGTERM), and by the timeout
// when one is given.
func signalContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	// SIGHUP too: a closed terminal must not end a command that holds or
	// waits for a lock (a POSIX lock stays taken for good).
	ctx, stop := signal.NotifyContext(context.Background(), forwardedSignals...)
	if timeout > 0 {
		tctx, cancel := context.WithTimeout(ctx, timeout)
		return tctx, func() { cancel(); stop() }
	}
	return ctx, stop
}

// waitCause explains why a wait ended without the lock or count.
func waitCause(ctx context.Context, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %v", timeout)
	}
	return errors.New("interrupted")
}
