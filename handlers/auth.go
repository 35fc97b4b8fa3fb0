package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gin-gonic/gin"

	"consultd/services"
)

// Session keys.
const (
	sessionUserID = "user_id"
	ctxUser       = "user"
)

// newSessionManager keeps sessions in PostgreSQL (store), so every instance
// shares them. On https the cookie is __Host- prefixed and Secure.
func newSessionManager(store scs.Store, cfg Config) *scs.SessionManager {
	sm := scs.New()
	sm.Store = store
	sm.IdleTimeout = cfg.SessionIdleTimeout
	sm.Lifetime = cfg.SessionLifetime
	sm.Cookie.Name = cookieName(cfg, "session")
	sm.Cookie.Path = "/"
	sm.Cookie.HttpOnly = true
	sm.Cookie.Secure = cfg.BaseURL.Scheme == "https"
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Persist = false
	sm.ErrorFunc = func(w http.ResponseWriter, _ *http.Request, _ error) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Retry-After", retryAfterSeconds)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("Service Unavailable: sign-in is briefly unavailable. Please try again in a minute.\n"))
	}
	return sm
}

// cookieName is __Host-consultd_<name> on https; the prefix makes browsers
// refuse the cookie unless it is Secure, host-only and for the whole site.
func cookieName(cfg Config, name string) string {
	if cfg.BaseURL.Scheme == "https" {
		return "__Host-consultd_" + name
	}
	return "consultd_" + name
}

// sessionPath reports whether a path belongs to signed-in staff; only these
// load sessions, so public pages cost no session lookup.
func sessionPath(p string) bool {
	return p == "/login" || p == "/logout" || p == "/admin" || strings.HasPrefix(p, "/admin/") || p == "/me" || strings.HasPrefix(p, "/me/")
}

// signedIn loads the session's user and puts them in the request context as
// the actor. Anonymous visitors go to /login; a disabled or deleted account
// loses its session here, so disabling ends every session at once.
func (h *Handler) signedIn(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	ctx := c.Request.Context()
	id := h.sessions.GetString(ctx, sessionUserID)
	if id == "" {
		c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
		return
	}
	user, err := h.users.Get(ctx, id)
	if errors.Is(err, services.ErrNotFound) || (err == nil && user.DisabledAt.Valid) {
		_ = h.sessions.Destroy(ctx)
		c.Redirect(http.StatusSeeOther, "/login")
		c.Abort()
		return
	}
	if err != nil {
		h.fail(c, err)
		c.Abort()
		return
	}
	c.Set(ctxUser, user)
	c.Request = c.Request.WithContext(services.WithActor(ctx, user.Actor(c.ClientIP())))
	c.Next()
}

// allow lets only the given roles through; others see 403.
func (h *Handler) allow(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := services.ActorFrom(c.Request.Context()).Role
		for _, r := range roles {
			if r == role {
				c.Next()
				return
			}
		}
		h.respondError(c, http.StatusForbidden, "forbidden", "Your account does not give access to this page.")
	}
}

// homeFor is where a role lands after signing in.
func homeFor(role string) string {
	if role == services.RoleConsultant {
		return "/me"
	}
	return "/admin"
}

type loginPage struct {
	Page
	Email     string
	Next      string
	FormError string
	Notice    string
}

func (h *Handler) renderLogin(c *gin.Context, status int, p loginPage) {
	p.Page = h.page(c, "Sign in", "")
	p.NoIndex = true
	c.HTML(status, "login", p)
}

// loginForm shows the sign-in form, or sends a signed-in user home.
func (h *Handler) loginForm(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	if id := h.sessions.GetString(c.Request.Context(), sessionUserID); id != "" {
		if user, err := h.users.Get(c.Request.Context(), id); err == nil && !user.DisabledAt.Valid {
			c.Redirect(http.StatusSeeOther, homeFor(user.Role))
			return
		}
	}
	notice := ""
	if c.Query("done") == "out" {
		notice = "You are signed out."
	}
	h.renderLogin(c, http.StatusOK, loginPage{Next: safeNext(c.Query("next")), Notice: notice})
}

// login signs a user in: a new session token (no fixation), the user id in
// the session, and a device cookie that keeps this browser usable while
// someone else guesses at the account.
func (h *Handler) login(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	ctx := c.Request.Context()
	form := loginPage{Email: c.PostForm("email"), Next: safeNext(c.PostForm("next"))}
	user, err := h.users.SignIn(ctx, services.SignIn{
		Email: form.Email, Password: c.PostForm("password"),
		Network: clientKey(c.ClientIP()), Device: h.cookie(c, "device"),
	})
	var throttled *services.Throttled
	switch {
	case errors.As(err, &throttled):
		c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter/time.Second)))
		form.FormError = throttled.Message
		h.renderLogin(c, http.StatusTooManyRequests, form)
		return
	case services.ErrorCode(err) == services.CodeUnauthorized || services.ErrorCode(err) == services.CodeForbidden:
		form.FormError = formMessage(err)
		h.renderLogin(c, statusByCode[services.ErrorCode(err)], form)
		return
	case services.IsUnavailable(err):
		h.formUnavailable(c, err, func(status int, msg string) { form.FormError = msg; h.renderLogin(c, status, form) })
		return
	case err != nil:
		h.fail(c, err)
		return
	}
	if err := h.sessions.RenewToken(ctx); err != nil {
		h.fail(c, err)
		return
	}
	h.sessions.Put(ctx, sessionUserID, user.ID)
	h.setCookie(c, "device", h.users.DeviceToken(user), 365*24*time.Hour)
	actx := services.WithActor(ctx, user.Actor(c.ClientIP()))
	if err := h.audit.Record(actx, "sign_in", "user", user.ID, nil); err != nil {
		h.log.Warn("audit sign-in failed", "error", err)
	}
	next := form.Next
	if next == "" {
		next = homeFor(user.Role)
	}
	c.Redirect(http.StatusSeeOther, next)
}

// logout ends the session everywhere it is stored.
func (h *Handler) logout(c *gin.Context) {
	ctx := c.Request.Context()
	if id := h.sessions.GetString(ctx, sessionUserID); id != "" {
		if user, err := h.users.Get(ctx, id); err == nil {
			_ = h.audit.Record(services.WithActor(ctx, user.Actor(c.ClientIP())), "sign_out", "user", user.ID, nil)
		}
	}
	if err := h.sessions.Destroy(ctx); err != nil {
		h.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/login?done=out")
}

// safeNext keeps a post-login redirect on this site: a path, never a
// scheme-relative //host or a backslash trick.
func safeNext(next string) string {
	// Browsers drop tabs and newlines from URLs, so "/\t/evil" would become
	// "//evil": any control character disqualifies the value.
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return ""
	}
	return next
}

func (h *Handler) cookie(c *gin.Context, name string) string {
	v, _ := c.Cookie(cookieName(h.cfg, name))
	return v
}

func (h *Handler) setCookie(c *gin.Context, name, value string, maxAge time.Duration) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: cookieName(h.cfg, name), Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		HttpOnly: true, Secure: h.cfg.BaseURL.Scheme == "https", SameSite: http.SameSiteLaxMode,
	})
}
