package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"consultd/services"
)

const webhookSecret = "whsec_app_test"

func paidApp(t *testing.T) staffApp {
	t.Helper()
	mock := os.Getenv("STRIPE_MOCK_URL")
	if mock == "" {
		t.Fatal("STRIPE_MOCK_URL is not set: run the suite with `make test`, which starts stripe-mock")
	}
	s := newStaffApp(t, map[string]string{"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_API_URL": mock, "STRIPE_WEBHOOK_SECRET": webhookSecret})
	if err := services.NewSessionTypes(s.db).SeedPaidSessionType(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// signedWebhook posts a Stripe event about a Checkout Session to the app.
func signedWebhook(t *testing.T, base, id, kind string, session map[string]any, secret string) (*http.Response, map[string]any) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "type": kind,
		"data": map[string]any{"object": session},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret})
	req, _ := http.NewRequest("POST", base+"/webhooks/stripe", strings.NewReader(string(signed.Payload)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", signed.Header)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func TestPaidSessionThroughThePages(t *testing.T) {
	s := paidApp(t)
	inquiry, _ := s.newLeadAs(t, "Paula Payer", "Acme", "paula@acme.example.com")
	resp, page := get(t, s.URL+"/leads/"+inquiry, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Architecture review (30 minutes)") || !strings.Contains(page, "CA$250.00") {
		t.Fatalf("booking page = %d, want the paid type offered with its Canadian price", resp.StatusCode)
	}
	resp, page = get(t, s.URL+"/leads/"+inquiry+"?type=architecture-review", nil)
	starts := slotButton.FindAllStringSubmatch(page, -1)
	if resp.StatusCode != http.StatusOK || len(starts) == 0 || !strings.Contains(page, `name="type" value="architecture-review"`) {
		t.Fatalf("paid booking page = %d", resp.StatusCode)
	}
	q := url.Values{"start": {starts[0][1]}, "type": {"architecture-review"}}
	resp, page = get(t, s.URL+"/leads/"+inquiry+"/confirm?"+q.Encode(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Continue to payment") || !strings.Contains(page, "CA$250.00") {
		t.Fatalf("confirm page = %d", resp.StatusCode)
	}
	resp, _ = postForm(t, s.URL+"/leads/"+inquiry+"/book", q)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://checkout.stripe.com/") {
		t.Fatalf("booking a paid type = %d %s, want a redirect to Stripe Checkout", resp.StatusCode, resp.Header.Get("Location"))
	}
	var status string
	s.db.Get(&status, `SELECT status FROM bookings`)
	if status != "pending_payment" {
		t.Fatalf("booking status %s", status)
	}

	// A second prospect books through the API, which answers the manage link.
	other, _ := s.newLeadAs(t, "Olga Other", "Acme", "olga@acme.example.com")
	_, slots := postJSONGet(t, s.URL+"/api/v1/slots?lead_id="+other+"&days=14")
	answer := slots["slots"].([]any)
	resp, out := postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": other, "start": answer[len(answer)-1].(map[string]any)["start"], "type": "architecture-review"})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("API booking = %d %v", resp.StatusCode, out)
	}
	var bk struct {
		ID      string `db:"id"`
		Session string `db:"checkout_session_id"`
	}
	s.db.Get(&bk, `SELECT id, checkout_session_id FROM bookings WHERE id = $1`, out["id"])
	manage := strings.TrimPrefix(out["manage_url"].(string), "http://localhost:8080")
	_, page = get(t, s.URL+manage, nil)
	if !strings.Contains(page, "held for you until") || !strings.Contains(page, "Pay CA$250.00 with Stripe") {
		t.Fatal("the manage page of a held booking does not offer the payment")
	}

	// The success redirect alone confirms nothing.
	_, page = get(t, s.URL+manage+"?done=paid", nil)
	if !strings.Contains(page, "waiting for Stripe to confirm") || strings.Contains(page, "Payment received") {
		t.Fatal("the success page confirmed before the webhook")
	}

	resp, out = signedWebhook(t, s.URL, "evt_bad", "checkout.session.completed", map[string]any{"id": bk.Session}, "whsec_wrong")
	if resp.StatusCode != http.StatusBadRequest || out["error"] != "invalid" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("bad signature = %d %v, want 400 JSON", resp.StatusCode, out)
	}
	session := map[string]any{"id": bk.Session, "object": "checkout.session", "client_reference_id": bk.ID, "payment_status": "paid",
		"status": "complete", "amount_total": 25000, "payment_intent": "pi_test_1"}
	for i := 0; i < 2; i++ {
		if resp, out := signedWebhook(t, s.URL, "evt_paid", "checkout.session.completed", session, webhookSecret); resp.StatusCode != http.StatusOK || out["received"] != true {
			t.Fatalf("webhook = %d %v", resp.StatusCode, out)
		}
	}
	_, page = get(t, s.URL+manage+"?done=paid", nil)
	if !strings.Contains(page, "Payment received") || !strings.Contains(page, "CA$250.00, paid") || !strings.Contains(page, "refunded in full") {
		t.Fatal("the manage page does not show the payment and the refund policy")
	}
	var invites int
	s.db.Get(&invites, `SELECT count(*) FROM outbox WHERE booking_id = $1 AND kind = 'invite'`, bk.ID)
	if invites != 1 {
		t.Fatalf("%d invites after the same webhook twice", invites)
	}

	// Staff see the payment; only admins may refund.
	var leadID string
	s.db.Get(&leadID, `SELECT lead_id FROM bookings WHERE id = $1`, bk.ID)
	sales, admin := browser(t), browser(t)
	s.signIn(t, sales, "sales@consult.example")
	s.signIn(t, admin, "admin@consult.example")
	_, page = send(t, sales, "GET", s.URL+"/admin/leads/"+leadID, nil, nil)
	if !strings.Contains(page, "CA$250.00, paid") || strings.Contains(page, "Refund in full") {
		t.Fatal("sales should see the payment but no refund button")
	}
	if resp, _ := send(t, sales, "POST", s.URL+"/admin/leads/"+leadID+"/bookings/"+bk.ID+"/refund", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sales refund = %d, want 403", resp.StatusCode)
	}
	if resp, _ := send(t, admin, "POST", s.URL+"/admin/leads/"+leadID+"/bookings/"+bk.ID+"/refund", url.Values{}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin refund = %d", resp.StatusCode)
	}
	_, page = send(t, admin, "GET", s.URL+"/admin/leads/"+leadID, nil, nil)
	if !strings.Contains(page, "CA$250.00, refunded") {
		t.Fatal("the lead page does not show the refund")
	}
}

func TestPaidSessionsThroughTheAPI(t *testing.T) {
	s := paidApp(t)
	inquiry, _ := s.newLeadAs(t, "Api Payer", "Acme", "api@acme.example.com")
	_, slots := postJSONGet(t, s.URL+"/api/v1/slots?lead_id="+inquiry+"&days=14")
	start := slots["slots"].([]any)[0].(map[string]any)["start"]
	resp, out := postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": inquiry, "start": start, "type": "nope"})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("unknown type = %d %v", resp.StatusCode, out)
	}
	resp, out = postJSON(t, s.URL+"/api/v1/bookings", map[string]any{"lead_id": inquiry, "start": start, "type": "architecture-review"})
	if resp.StatusCode != http.StatusCreated || out["status"] != "pending_payment" || out["payment_status"] != "pending" ||
		out["amount_cents"] != float64(25000) || out["currency"] != "cad" || !strings.HasPrefix(out["checkout_url"].(string), "https://") {
		t.Fatalf("paid booking = %d %v", resp.StatusCode, out)
	}
	if _, err := time.Parse(time.RFC3339, out["hold_expires_at"].(string)); err != nil {
		t.Fatalf("hold_expires_at = %v", out["hold_expires_at"])
	}
}

func TestSessionTypesAreForAdmins(t *testing.T) {
	s := paidApp(t)
	sales, admin := browser(t), browser(t)
	s.signIn(t, sales, "sales@consult.example")
	s.signIn(t, admin, "admin@consult.example")
	if resp, _ := send(t, sales, "GET", s.URL+"/admin/session-types", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sales = %d, want 403", resp.StatusCode)
	}
	resp, page := send(t, admin, "POST", s.URL+"/admin/session-types", url.Values{"slug": {"Bad Slug"}, "name": {""}, "price_cad": {"abc"}, "active": {"yes"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `value="Bad Slug"`) || !strings.Contains(page, "Give an amount") {
		t.Fatalf("invalid type = %d", resp.StatusCode)
	}
	resp, _ = send(t, admin, "POST", s.URL+"/admin/session-types", url.Values{"slug": {"roadmap"}, "name": {"Roadmap session"}, "price_usd": {"99.50"}, "active": {"yes"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", resp.StatusCode)
	}
	var usd int64
	s.db.Get(&usd, `SELECT price_usd_cents FROM session_types WHERE slug = 'roadmap'`)
	if usd != 9950 {
		t.Fatalf("stored price %d, want 9950", usd)
	}
	if resp, page := send(t, admin, "POST", s.URL+"/admin/session-types", url.Values{"slug": {"consultation"}, "name": {"Free"}, "price_cad": {"10"}, "active": {"yes"}}, nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "stays free") {
		t.Fatalf("pricing the free consultation = %d, want 422", resp.StatusCode)
	}
}
