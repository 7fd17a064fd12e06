package qipc

// DefaultKeyType is the type Qt 6.6+ uses when none is given
// (QNativeIpcKey::DefaultTypeForOs): Windows on Windows, PosixRealtime on
// every other OS. Qt 5 peers used [LegacyDefaultKeyType] instead.
const DefaultKeyType = Windows
