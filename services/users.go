package services

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// User is a staff account.
type User struct {
	ID           string       `db:"id"`
	Email        string       `db:"email"`
	Name         string       `db:"name"`
	Role         string       `db:"role"`
	ConsultantID string       `db:"consultant_id"`
	DisabledAt   sql.NullTime `db:"disabled_at"`
	LastLoginAt  sql.NullTime `db:"last_login_at"`
	CreatedAt    time.Time    `db:"created_at"`
}

const userColumns = `id, email, name, role, COALESCE(consultant_id::text, '') AS consultant_id, disabled_at, last_login_at, created_at`

// Actor is the user as the one doing things in a request.
func (u User) Actor(ip string) Actor {
	return Actor{UserID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, ConsultantID: u.ConsultantID, IP: ip}
}

// NewUser is an account to create.
type NewUser struct {
	Email           string
	Name            string
	Role            string
	ConsultantEmail string // for the consultant role: whose portal it is
	Password        string
}

// LoginLimits throttle failed sign-ins inside Window: per account (from
// devices that never signed in to it), per known device, and per network.
type LoginLimits struct {
	PerAccount int
	PerNetwork int
	Window     time.Duration
}

// Users manages staff accounts and signs them in.
type Users struct {
	db        *sqlx.DB
	deviceKey []byte
	limits    LoginLimits
	now       func() time.Time
}

// NewUsers returns the account service; secret signs device cookies.
func NewUsers(db *sqlx.DB, secret string, limits LoginLimits, now func() time.Time) *Users {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("consultd device cookie"))
	return &Users{db: db, deviceKey: mac.Sum(nil), limits: limits, now: now}
}

func normalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Create adds an account, checking the password policy.
func (s *Users) Create(ctx context.Context, in NewUser) (User, error) {
	in.Email, in.Name = normalEmail(in.Email), cleanLine(in.Name)
	fields := map[string]string{}
	if !validEmail(in.Email) {
		fields["email"] = "Give an email address such as ana@example.com."
	}
	if !slices.Contains(Roles, in.Role) {
		fields["role"] = "Use admin, sales or consultant."
	}
	if msg := CheckPasswordPolicy(in.Password, in.Email); msg != "" {
		fields["password"] = msg
	}
	if in.Role == RoleConsultant && in.ConsultantEmail == "" {
		fields["consultant_email"] = "A consultant account needs --consultant-email of an existing consultant."
	}
	if len(fields) > 0 {
		return User{}, Invalid(fields)
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return User{}, err
	}
	var consultant any
	if in.ConsultantEmail != "" {
		var id string
		err := s.db.GetContext(ctx, &id, `SELECT id FROM consultants WHERE lower(email) = lower($1)`, strings.TrimSpace(in.ConsultantEmail))
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, Invalid(map[string]string{"consultant_email": "No consultant has that email; add them with `consultd consultant add` first."})
		}
		if err != nil {
			return User{}, fmt.Errorf("find consultant: %w", err)
		}
		consultant = id
	}
	var u User
	err = s.db.GetContext(ctx, &u, `
		INSERT INTO users (email, name, role, consultant_id, password_hash) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+userColumns, in.Email, in.Name, in.Role, consultant, hash)
	if err != nil {
		return User{}, translatePQ(err, "An account with that email, or for that consultant, already exists.", "create user")
	}
	return u, nil
}

// List returns every account, by email.
func (s *Users) List(ctx context.Context) ([]User, error) {
	users := []User{}
	if err := s.db.SelectContext(ctx, &users, `SELECT `+userColumns+` FROM users ORDER BY lower(email)`); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// Get returns an account by id.
func (s *Users) Get(ctx context.Context, id string) (User, error) {
	if !ValidUUID(id) {
		return User{}, ErrNotFound
	}
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// Disable stops an account from signing in; its open sessions end at their
// next request, which finds the account disabled.
func (s *Users) Disable(ctx context.Context, email string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE users SET disabled_at = COALESCE(disabled_at, $2), updated_at = $2 WHERE lower(email) = lower($1)`,
		strings.TrimSpace(email), s.now())
	if err != nil {
		return fmt.Errorf("disable user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SignIn is one attempt to sign in.
type SignIn struct {
	Email    string
	Password string
	Network  string // the client's address, grouped as the rate limits group it
	Device   string // the device cookie, when the browser has one
}

// Throttled refuses a sign-in until RetryAfter has passed.
type Throttled struct {
	RetryAfter time.Duration
	Message    string
}

func (e *Throttled) Error() string { return "sign-in throttled" }

// errBadCredentials is the one answer to a wrong email or password.
var errBadCredentials = &Error{Code: CodeUnauthorized, Message: "That email and password do not match an account."}

// SignIn checks the password within the throttle. A device that signed in
// to the account before has its own failure count, so guessing from
// elsewhere never locks the owner out of their usual browser.
func (s *Users) SignIn(ctx context.Context, in SignIn) (User, error) {
	email := normalEmail(cleanLine(in.Email))
	var row struct {
		User
		Hash string `db:"password_hash"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT `+userColumns+`, password_hash FROM users WHERE lower(email) = $1`, email)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("find user: %w", err)
	}
	// A device cookie counts only for the account it signed in to; another
	// account's cookie would otherwise buy fresh attempts at this one.
	device := s.trustedDevice(in.Device)
	if row.ID == "" || device.userID != row.ID {
		device = deviceID{}
	}
	// The attempt is written down before the password is checked, and
	// counted with it: requests racing each other all see every attempt,
	// so a burst cannot slip more guesses past the limit than a queue could.
	attempt, err := s.recordAttempt(ctx, email, in.Network, device)
	if err != nil {
		return User{}, err
	}
	if err := s.throttled(ctx, email, in.Network, device); err != nil {
		return User{}, errors.Join(err, s.forgetAttempt(ctx, attempt))
	}
	hash := row.Hash
	if hash == "" {
		hash = dummyPasswordHash()
	}
	ok, err := PasswordMatches(in.Password, hash)
	if err != nil {
		return User{}, err
	}
	// A disabled account answers like a wrong password, so its password
	// cannot be confirmed by guessing at it.
	if !ok || row.ID == "" || row.DisabledAt.Valid {
		return User{}, errBadCredentials
	}
	if err := s.forgetAttempt(ctx, attempt); err != nil {
		return User{}, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, row.ID, s.now()); err != nil {
		return User{}, fmt.Errorf("record sign-in: %w", err)
	}
	return row.User, nil
}

// recordAttempt writes a sign-in attempt as a failure until it succeeds.
func (s *Users) recordAttempt(ctx context.Context, email, network string, device deviceID) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO login_failures (email, network, device, failed_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		email, network, device.nonce, s.now())
	if err != nil {
		return 0, fmt.Errorf("record sign-in attempt: %w", err)
	}
	return id, nil
}

// forgetAttempt removes an attempt that succeeded or was never tried.
func (s *Users) forgetAttempt(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget sign-in attempt: %w", err)
	}
	return nil
}

// throttled counts recent failures, this attempt included: per account
// from this device (or from all devices the account does not know), and,
// for devices the account does not know, per network. A browser that
// signed in to the account before is never held back by others' guessing.
func (s *Users) throttled(ctx context.Context, email, network string, device deviceID) error {
	since := s.now().Add(-s.limits.Window)
	var counts struct {
		Account       int          `db:"account"`
		AccountOldest sql.NullTime `db:"account_oldest"`
		Network       int          `db:"network"`
		NetOldest     sql.NullTime `db:"network_oldest"`
	}
	err := s.db.GetContext(ctx, &counts, `
		SELECT count(*) FILTER (WHERE email = $1 AND device = $3) AS account,
		       min(failed_at) FILTER (WHERE email = $1 AND device = $3) AS account_oldest,
		       count(*) FILTER (WHERE network = $2) AS network,
		       min(failed_at) FILTER (WHERE network = $2) AS network_oldest
		FROM login_failures WHERE (email = $1 OR network = $2) AND failed_at > $4`,
		email, network, device.nonce, since)
	if err != nil {
		return fmt.Errorf("count failed sign-ins: %w", err)
	}
	wait := func(oldest sql.NullTime) time.Duration {
		d := oldest.Time.Add(s.limits.Window).Sub(s.now())
		return max(d.Round(time.Second), time.Second)
	}
	if device.nonce == "" && s.limits.PerNetwork > 0 && counts.Network > s.limits.PerNetwork {
		d := wait(counts.NetOldest)
		return &Throttled{RetryAfter: d, Message: fmt.Sprintf("Too many failed sign-ins from your network. Try again in %s.", humanWait(d))}
	}
	if s.limits.PerAccount > 0 && counts.Account > s.limits.PerAccount {
		d := wait(counts.AccountOldest)
		msg := fmt.Sprintf("Too many failed sign-ins for this account. Try again in %s.", humanWait(d))
		if device.nonce == "" {
			msg += " A browser you have signed in with before is not affected."
		}
		return &Throttled{RetryAfter: d, Message: msg}
	}
	return nil
}

func humanWait(d time.Duration) string {
	if m := int(d.Round(time.Minute) / time.Minute); m > 1 {
		return fmt.Sprintf("%d minutes", m)
	}
	return "a minute"
}

// deviceID is a device cookie that checked out: the account it signed in
// to and its own random id.
type deviceID struct {
	userID string
	nonce  string
}

// DeviceToken is a new device cookie for a browser that just signed in as u.
func (s *Users) DeviceToken(u User) string {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	n := base64.RawURLEncoding.EncodeToString(nonce)
	return u.ID + "." + n + "." + s.deviceMAC(u.ID, n)
}

func (s *Users) deviceMAC(userID, nonce string) string {
	mac := hmac.New(sha256.New, s.deviceKey)
	mac.Write([]byte(userID + "." + nonce))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// trustedDevice reads a device cookie; a forged or garbled one counts as none.
func (s *Users) trustedDevice(token string) deviceID {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !ValidUUID(parts[0]) || len(parts[1]) != 22 {
		return deviceID{}
	}
	if !hmac.Equal([]byte(parts[2]), []byte(s.deviceMAC(parts[0], parts[1]))) {
		return deviceID{}
	}
	return deviceID{userID: parts[0], nonce: parts[1]}
}

// PruneLoginFailures forgets failures older than the throttle window.
func (s *Users) PruneLoginFailures(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE failed_at < $1`, s.now().Add(-s.limits.Window)); err != nil {
		return fmt.Errorf("prune failed sign-ins: %w", err)
	}
	return nil
}

// RunHousekeeping forgets old sign-in failures and expired sessions every
// interval until ctx ends. Each statement is idempotent, so several
// instances may run it.
func (s *Users) RunHousekeeping(ctx context.Context, every time.Duration, onError func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.PruneLoginFailures(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expiry < now()`); err != nil && ctx.Err() == nil {
			onError(fmt.Errorf("delete expired sessions: %w", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SetPassword replaces an account's password (policy checked) and enables
// it again.
func (s *Users) SetPassword(ctx context.Context, email, password string) error {
	email = normalEmail(email)
	if msg := CheckPasswordPolicy(password, email); msg != "" {
		return Invalid(map[string]string{"password": msg})
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE users SET password_hash = $2, password_changed_at = $3, disabled_at = NULL, updated_at = $3 WHERE lower(email) = $1`,
		email, hash, s.now())
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
