package services_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"consultd/services"
)

const testWebhookSecret = "whsec_test_secret"

// stripeMockURL is the stripe-mock that `make test` starts.
func stripeMockURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("STRIPE_MOCK_URL")
	if u == "" {
		t.Fatal("STRIPE_MOCK_URL is not set: run the suite with `make test`, which starts stripe-mock")
	}
	return u
}

// payFixture is a booking fixture with paid sessions through stripeURL
// (stripe-mock, or a proxy in front of it).
func payFixture(t *testing.T, stripeURL string) bookingFixture {
	t.Helper()
	f := newBookingFixture(t, 0)
	f.bookings.EnablePayments(services.PaymentsConfig{
		SecretKey: "sk_test_123", WebhookSecret: testWebhookSecret, APIURL: stripeURL, RefundFullBefore: 24 * time.Hour,
	})
	if err := services.NewSessionTypes(f.db).SeedPaidSessionType(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mustConsultant(t, "ana@consult.example.com", "django", "America/Toronto", "mon-fri 09:00-17:00")
	return f
}

// bookPaid holds a paid architecture review for a new lead.
func (f bookingFixture) bookPaid(t *testing.T, email string, start time.Time) (services.Booking, string) {
	t.Helper()
	inq := f.mustLead(t, email, "django")
	bk, token, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: inq.ID, Start: start, Type: "architecture-review"})
	if err != nil {
		t.Fatal(err)
	}
	return bk, token
}

// sendEvent delivers a Stripe event about bk's Checkout Session, signed as
// Stripe signs it, at the given time.
func (f bookingFixture) sendEvent(t *testing.T, id, kind string, bk services.Booking, paid bool, at time.Time) error {
	t.Helper()
	status := "unpaid"
	if paid {
		status = "paid"
	}
	payload, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "type": kind, "created": at.Unix(),
		"data": map[string]any{"object": map[string]any{
			"id": bk.CheckoutID, "object": "checkout.session", "client_reference_id": bk.ID, "payment_status": status,
			"status": "complete", "amount_total": bk.AmountCents, "currency": bk.Currency, "payment_intent": "pi_test_" + bk.ID[:8],
		}},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: at})
	return f.bookings.HandleStripeWebhook(context.Background(), signed.Payload, signed.Header)
}

func (f bookingFixture) booking(t *testing.T, id string) services.Booking {
	t.Helper()
	bk, err := f.bookings.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return bk
}

func (f bookingFixture) mailKinds(t *testing.T, bookingID string) string {
	t.Helper()
	var kinds []string
	f.db.Select(&kinds, `SELECT kind FROM outbox WHERE booking_id = $1 ORDER BY id`, bookingID)
	return strings.Join(kinds, ",")
}

func TestPaidBookingHoldsTheSlotUntilStripeConfirms(t *testing.T) {
	f := payFixture(t, stripeMockURL(t))
	bk, _ := f.bookPaid(t, "pat@acme.example.com", f.at(8, 10, 0))
	if bk.Status != "pending_payment" || bk.PaymentStatus != "pending" || bk.AmountCents != 25000 || bk.Currency != "cad" ||
		!strings.HasPrefix(bk.CheckoutID, "cs_") || !strings.HasPrefix(bk.CheckoutURL, "https://") || !bk.HoldExpiresAt.Valid {
		t.Fatalf("held booking = %+v", bk)
	}
	if until := bk.HoldExpiresAt.Time.Sub(fixtureNow); until < 30*time.Minute || until > 40*time.Minute {
		t.Fatalf("hold lasts %s, want a little more than Checkout's 30 minutes", until)
	}
	if kinds := f.mailKinds(t, bk.ID); kinds != "" {
		t.Fatalf("mail before payment: %s", kinds)
	}
	// With one consultant, the held slot is taken for everyone else.
	other := f.mustLead(t, "other@acme.example.com", "django")
	_, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: other.ID, Start: f.at(8, 10, 0)})
	var taken *services.SlotTaken
	if !errors.As(err, &taken) {
		t.Fatalf("booking a held slot: %v, want SlotTaken", err)
	}

	// A good signature confirms it and sends the invites; the same event
	// again does nothing.
	if err := f.sendEvent(t, "evt_1", "checkout.session.completed", bk, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.sendEvent(t, "evt_1", "checkout.session.completed", bk, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := f.booking(t, bk.ID)
	if got.Status != "confirmed" || got.PaymentStatus != "paid" || got.HoldExpiresAt.Valid || got.PaymentIntentID == "" {
		t.Fatalf("after payment: %+v", got)
	}
	if kinds := f.mailKinds(t, bk.ID); kinds != "invite,consultant_notice" {
		t.Fatalf("mail after payment = %s, want one invite and one notice", kinds)
	}
	var events int
	f.db.Get(&events, `SELECT count(*) FROM stripe_events WHERE id = 'evt_1'`)
	if events != 1 {
		t.Fatalf("%d stored events", events)
	}
	// An "expired" arriving late cannot undo the payment.
	if err := f.sendEvent(t, "evt_2", "checkout.session.expired", bk, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(t, bk.ID); got.Status != "confirmed" {
		t.Fatalf("expired after completed left the booking %s", got.Status)
	}
}

func TestWebhookSignatures(t *testing.T) {
	f := payFixture(t, stripeMockURL(t))
	bk, _ := f.bookPaid(t, "pat@acme.example.com", f.at(8, 10, 0))
	payload := []byte(`{"id":"evt_x","object":"event","api_version":"` + stripe.APIVersion + `","type":"checkout.session.completed","data":{"object":{}}}`)
	for name, header := range map[string]string{
		"no signature":    "",
		"wrong secret":    webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_other"}).Header,
		"garbled":         "t=1,v1=zz",
		"stale timestamp": webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testWebhookSecret, Timestamp: time.Now().Add(-10 * time.Minute)}).Header,
	} {
		err := f.bookings.HandleStripeWebhook(context.Background(), payload, header)
		if services.ErrorCode(err) != services.CodeInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if err := f.sendEvent(t, "evt_old", "checkout.session.completed", bk, true, time.Now().Add(-10*time.Minute)); services.ErrorCode(err) != services.CodeInvalid {
		t.Fatalf("a stale but signed event: %v, want invalid", err)
	}
	if got := f.booking(t, bk.ID); got.Status != "pending_payment" {
		t.Fatalf("a refused event changed the booking to %s", got.Status)
	}
	// Events about other things are acknowledged and ignored.
	other := []byte(`{"id":"evt_y","object":"event","api_version":"` + stripe.APIVersion + `","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: other, Secret: testWebhookSecret})
	if err := f.bookings.HandleStripeWebhook(context.Background(), signed.Payload, signed.Header); err != nil {
		t.Fatalf("an unrelated event: %v", err)
	}
}

// Events in any order: a payment that arrives after its hold was released
// takes the slot back if it is still free, and is refunded in full, with
// the prospect told, when someone else took it meanwhile.
func TestPaymentsArrivingAfterTheHoldWasReleased(t *testing.T) {
	f := payFixture(t, stripeMockURL(t))
	free, _ := f.bookPaid(t, "free@acme.example.com", f.at(8, 10, 0))
	if err := f.sendEvent(t, "evt_e1", "checkout.session.expired", free, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(t, free.ID); got.Status != "expired" || got.PaymentStatus != "failed" {
		t.Fatalf("after expired: %s/%s", got.Status, got.PaymentStatus)
	}
	if err := f.sendEvent(t, "evt_c1", "checkout.session.completed", free, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(t, free.ID); got.Status != "confirmed" || got.PaymentStatus != "paid" {
		t.Fatalf("completed after expired, slot still free: %s/%s, want confirmed", got.Status, got.PaymentStatus)
	}

	late, _ := f.bookPaid(t, "late@acme.example.com", f.at(8, 11, 0))
	if err := f.sendEvent(t, "evt_e2", "checkout.session.expired", late, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	taker := f.mustLead(t, "taker@acme.example.com", "django")
	if _, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: taker.ID, Start: f.at(8, 11, 0)}); err != nil {
		t.Fatalf("someone else books the released slot: %v", err)
	}
	if err := f.sendEvent(t, "evt_c2", "checkout.session.completed", late, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := f.booking(t, late.ID)
	if got.Status != "expired" || got.PaymentStatus != "refunded" || got.RefundCents != 25000 || !got.RefundedAt.Valid {
		t.Fatalf("a late payment for a re-taken slot: %s/%s refund %d", got.Status, got.PaymentStatus, got.RefundCents)
	}
	var refundMail string
	f.db.Get(&refundMail, `SELECT subject FROM outbox WHERE booking_id = $1 AND kind = 'refund'`, late.ID)
	if !strings.HasPrefix(refundMail, "Refund: CA$250.00") {
		t.Fatalf("refund mail subject = %q", refundMail)
	}
	assertNoLiveOverlap(t, f)
}

func assertNoLiveOverlap(t *testing.T, f bookingFixture) {
	t.Helper()
	var overlaps int
	f.db.Get(&overlaps, `
		SELECT count(*) FROM bookings a JOIN bookings b ON a.id < b.id AND a.consultant_id = b.consultant_id AND a.blocked && b.blocked
		WHERE a.status IN ('held', 'pending_payment', 'confirmed') AND b.status IN ('held', 'pending_payment', 'confirmed')`)
	if overlaps != 0 {
		t.Fatalf("%d overlapping live bookings", overlaps)
	}
}

// stripeProxy forwards to stripe-mock and lets a test rewrite what a
// Checkout Session looks like, since stripe-mock keeps no state.
type stripeProxy struct {
	mu      sync.Mutex
	paid    map[string]bool // session id → report as paid
	calls   []string
	backend *url.URL
}

func newStripeProxy(t *testing.T) (*stripeProxy, string) {
	t.Helper()
	backend, _ := url.Parse(stripeMockURL(t))
	p := &stripeProxy{paid: map[string]bool{}, backend: backend}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *stripeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.calls = append(p.calls, r.Method+" "+r.URL.Path)
	p.mu.Unlock()
	req, _ := http.NewRequest(r.Method, p.backend.String()+r.URL.RequestURI(), r.Body)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var cs map[string]any
	if json.Unmarshal(body, &cs) == nil && cs["object"] == "checkout.session" {
		p.mu.Lock()
		if p.paid[fmt.Sprint(cs["id"])] {
			cs["payment_status"], cs["status"], cs["amount_total"] = "paid", "complete", 25000
		}
		p.mu.Unlock()
		body, _ = json.Marshal(cs)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// The sweeper releases holds past their expiry without any webhook,
// expiring the Checkout Session first; one that turns out paid is
// confirmed instead.
func TestSweeperReleasesExpiredHoldsOrConfirmsPaidOnes(t *testing.T) {
	proxy, proxyURL := newStripeProxy(t)
	f := payFixture(t, proxyURL)
	abandoned, _ := f.bookPaid(t, "gone@acme.example.com", f.at(8, 10, 0))
	paid, _ := f.bookPaid(t, "paid@acme.example.com", f.at(8, 11, 0))
	proxy.paid[paid.CheckoutID] = true

	if n, err := f.bookings.SweepHolds(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep before expiry: %d, %v", n, err)
	}
	f.clock.Set(fixtureNow.Add(36 * time.Minute))
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ { // two instances sweeping at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.bookings.SweepHolds(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := f.booking(t, abandoned.ID); got.Status != "expired" {
		t.Fatalf("abandoned hold = %s, want expired", got.Status)
	}
	if got := f.booking(t, paid.ID); got.Status != "confirmed" || got.PaymentStatus != "paid" {
		t.Fatalf("paid hold = %s/%s, want confirmed", got.Status, got.PaymentStatus)
	}
	if kinds := f.mailKinds(t, paid.ID); kinds != "invite,consultant_notice" {
		t.Fatalf("mail for the paid hold = %s", kinds)
	}
	expires := 0
	for _, c := range proxy.calls {
		if c == "POST /v1/checkout/sessions/"+abandoned.CheckoutID+"/expire" {
			expires++
		}
		if strings.HasSuffix(c, paid.CheckoutID+"/expire") {
			t.Fatal("the sweeper expired a session that was paid")
		}
	}
	if expires != 1 {
		t.Fatalf("the abandoned session was expired %d times, want once", expires)
	}
}

func TestCancellationRefundsByPolicy(t *testing.T) {
	f := payFixture(t, stripeMockURL(t))
	early, earlyToken := f.bookPaid(t, "early@acme.example.com", f.at(10, 10, 0))
	late, lateToken := f.bookPaid(t, "late@acme.example.com", f.at(7, 14, 0))
	for i, bk := range []services.Booking{early, late} {
		if err := f.sendEvent(t, fmt.Sprintf("evt_p%d", i), "checkout.session.completed", bk, true, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if policy := f.bookings.RefundPolicy(f.booking(t, early.ID)); !strings.Contains(policy, "refunded in full") {
		t.Fatalf("policy shown for an early cancel: %q", policy)
	}
	if _, err := f.bookings.Cancel(context.Background(), earlyToken, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(t, early.ID); got.PaymentStatus != "refunded" || got.RefundCents != 25000 {
		t.Fatalf("cancelled two days ahead: %s refund %d, want a full refund", got.PaymentStatus, got.RefundCents)
	}
	if policy := f.bookings.RefundPolicy(f.booking(t, late.ID)); !strings.Contains(policy, "no refund") {
		t.Fatalf("policy shown for a late cancel: %q", policy)
	}
	if _, err := f.bookings.Cancel(context.Background(), lateToken, ""); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(t, late.ID); got.PaymentStatus != "paid" || got.RefundCents != 0 {
		t.Fatalf("cancelled six hours ahead: %s refund %d, want no refund", got.PaymentStatus, got.RefundCents)
	}
}

// When Stripe cannot be reached the hold goes at once: no ghost booking.
func TestStripeUnreachableReleasesTheHold(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	f := payFixture(t, deadURL)
	inq := f.mustLead(t, "pat@acme.example.com", "django")
	_, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: inq.ID, Start: f.at(8, 10, 0), Type: "architecture-review"})
	if services.ErrorCode(err) != services.CodePaymentUnavailable {
		t.Fatalf("booking with Stripe down: %v, want payment_unavailable", err)
	}
	var live int
	f.db.Get(&live, `SELECT count(*) FROM bookings WHERE status IN ('held', 'pending_payment', 'confirmed')`)
	if live != 0 {
		t.Fatal("a booking stayed live after Stripe could not be reached")
	}
	// The free consultation still books at that time.
	if _, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: f.mustLead(t, "b@acme.example.com", "django").ID, Start: f.at(8, 10, 0)}); err != nil {
		t.Fatalf("the slot after the failed checkout: %v", err)
	}
}

// A held slot is taken for concurrent bookers, whoever they are.
func TestPendingHoldBlocksConcurrentBookers(t *testing.T) {
	f := payFixture(t, stripeMockURL(t))
	const n = 8
	var leads []services.Inquiry
	for i := 0; i < n; i++ {
		leads = append(leads, f.mustLead(t, fmt.Sprintf("racer%d@acme.example.com", i), "django"))
	}
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i, l := range leads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := ""
			if i%2 == 0 {
				kind = "architecture-review"
			}
			_, _, err := f.bookings.Book(context.Background(), services.NewBooking{InquiryID: l.ID, Start: f.at(8, 10, 0), Type: kind})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		var taken *services.SlotTaken
		switch {
		case err == nil:
			won++
		case !errors.As(err, &taken):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d bookers got the one slot", won)
	}
	assertNoLiveOverlap(t, f)
}

func TestAdminRefund(t *testing.T) {
	f := payFixture(t, stripeMockURL(t))
	bk, _ := f.bookPaid(t, "pat@acme.example.com", f.at(8, 10, 0))
	if err := f.sendEvent(t, "evt_pay", "checkout.session.completed", bk, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.leads.RefundBooking(staffCtx(services.RoleSales), bk.LeadID, bk.ID); !errors.Is(err, services.ErrForbidden) {
		t.Fatalf("sales refunding: %v, want forbidden", err)
	}
	if err := f.leads.RefundBooking(staffCtx(services.RoleAdmin), bk.LeadID, bk.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(t, bk.ID); got.PaymentStatus != "refunded" || got.Status != "confirmed" {
		t.Fatalf("after an admin refund: %s/%s", got.Status, got.PaymentStatus)
	}
	if err := f.leads.RefundBooking(staffCtx(services.RoleAdmin), bk.LeadID, bk.ID); services.ErrorCode(err) != services.CodeConflict {
		t.Fatalf("refunding twice: %v, want a conflict", err)
	}
	var audited int
	f.db.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'refund_requested'`)
	if audited != 1 {
		t.Fatal("the refund was not audited")
	}
}

// Delayed payment methods: a completed but unpaid session keeps the hold;
// the async outcome confirms or releases it.
func TestAsyncPaymentOutcomes(t *testing.T) {
	f := payFixture(t, stripeMockURL(t))
	good, _ := f.bookPaid(t, "good@acme.example.com", f.at(8, 10, 0))
	bad, _ := f.bookPaid(t, "bad@acme.example.com", f.at(8, 11, 0))
	for i, bk := range []services.Booking{good, bad} {
		if err := f.sendEvent(t, fmt.Sprintf("evt_unpaid%d", i), "checkout.session.completed", bk, false, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := f.booking(t, bk.ID); got.Status != "pending_payment" {
			t.Fatalf("completed but unpaid: %s, want the hold kept", got.Status)
		}
	}
	if err := f.sendEvent(t, "evt_async_ok", "checkout.session.async_payment_succeeded", good, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.sendEvent(t, "evt_async_fail", "checkout.session.async_payment_failed", bad, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := f.booking(t, good.ID); got.Status != "confirmed" || got.PaymentStatus != "paid" {
		t.Fatalf("async success: %s/%s", got.Status, got.PaymentStatus)
	}
	if got := f.booking(t, bad.ID); got.Status != "expired" || got.PaymentStatus != "failed" {
		t.Fatalf("async failure: %s/%s", got.Status, got.PaymentStatus)
	}
}
