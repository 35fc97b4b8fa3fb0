package services

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length limits: long enough to refuse guessable ones, long
// enough for passphrases, short enough that hashing stays cheap.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128
)

// argon2id parameters: OWASP's second recommended set (19 MiB, 2 passes,
// one lane), a fraction of a second per sign-in with memory to spare.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

//go:embed data/common_passwords.txt
var commonPasswordsText []byte

var commonPasswords = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 18000)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsText))
	for sc.Scan() {
		if p := strings.TrimSpace(sc.Text()); p != "" {
			set[strings.ToLower(p)] = true
		}
	}
	return set
})

// CheckPasswordPolicy says what is wrong with a new password, or "".
func CheckPasswordPolicy(password, email string) string {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	case n > MaxPasswordLength:
		return fmt.Sprintf("Use at most %d characters.", MaxPasswordLength)
	case commonPasswords()[strings.ToLower(password)]:
		return "That password is one of the most common ones; choose another."
	case email != "" && strings.EqualFold(password, email):
		return "Do not use your email address as the password."
	}
	return ""
}

// HashPassword returns the argon2id hash of password as a PHC string.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argonKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemoryKiB, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// PasswordMatches reports whether password hashes to the PHC string, using
// the parameters stored in it and a constant-time comparison.
func PasswordMatches(password, phc string) (bool, error) {
	p, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	key := argonKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// argonSlots bounds the argon2id computations running at once. Each holds
// its memory (19 MiB) while it runs, so a burst of sign-ins, which anyone
// can send, cannot take the process's memory with it; the rest wait their
// turn.
var argonSlots = make(chan struct{}, 2)

// argonKey is argon2.IDKey within argonSlots. It collects garbage first:
// under load the heap sits at the soft memory limit, and the block would
// otherwise come on top of everything not yet reclaimed (peak RSS went 10
// MB past the load's own peak at one sign-in). A sign-in costs a collection
// of a small live heap, a few milliseconds beside the hash's tens.
func argonKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	runtime.GC()
	return argon2.IDKey(password, salt, time, memory, threads, keyLen)
}

type phcParams struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(phc string) (phcParams, error) {
	var p phcParams
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, fmt.Errorf("password hash: parameters %q: %w", parts[3], err)
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, fmt.Errorf("password hash: salt: %w", err)
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) == 0 {
		return p, fmt.Errorf("password hash: key: %v", err)
	}
	return p, nil
}

// dummyPasswordHash is checked against when an email is unknown, so a
// sign-in takes as long whether or not the account exists.
var dummyPasswordHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no account has this password")
	return h
})
