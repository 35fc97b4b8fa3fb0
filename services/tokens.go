package services

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// TokenSealer protects manage tokens at rest: the database stores a SHA-256
// for lookup and an AES-GCM sealed copy for building links in later emails.
type TokenSealer struct {
	aead cipher.AEAD
}

// NewTokenSealer derives the sealing key for manage tokens from the
// application secret.
func NewTokenSealer(secret string) (*TokenSealer, error) {
	return newTokenSealer("consultd manage-token key", secret)
}

// NewFeedTokenSealer derives a key of its own for calendar feed tokens, so
// a sealed token of one kind never opens as the other.
func NewFeedTokenSealer(secret string) (*TokenSealer, error) {
	return newTokenSealer("consultd feed-token key", secret)
}

func newTokenSealer(purpose, secret string) (*TokenSealer, error) {
	key := sha256.Sum256([]byte(purpose + "\x00" + secret))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("token cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("token cipher: %w", err)
	}
	return &TokenSealer{aead: aead}, nil
}

// newToken returns 256 random bits, URL-safe, and their hash.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// validToken cheaply refuses anything that cannot be one of our tokens.
func validToken(token string) bool {
	b, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(b) == 32
}

func (s *TokenSealer) seal(token string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(token), nil)
}

func (s *TokenSealer) open(sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("sealed token too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed token (was SECRET_KEY changed?): %w", err)
	}
	return string(plain), nil
}
