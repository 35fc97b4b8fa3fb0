package services

import (
	"context"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// PaymentsConfig turns on paid session types.
type PaymentsConfig struct {
	SecretKey     string
	WebhookSecret string
	APIURL        string // "" for Stripe; tests point it at stripe-mock
	// RefundFullBefore: a prospect who cancels at least this long before
	// the start gets the whole amount back; later, nothing.
	RefundFullBefore time.Duration
}

// checkoutLifetime is how long a Checkout Session stays open; Stripe's
// minimum is 30 minutes. The slot is held a little longer, so a payment
// finished in the last second still finds its hold.
const (
	checkoutLifetime = 31 * time.Minute
	holdGrace        = 4 * time.Minute
)

// stripeGateway is the Stripe API as bookings use it. It never touches
// the database.
type stripeGateway struct {
	api *client.API
}

// newStripeGateway returns a client for key. A non-empty apiURL replaces
// Stripe's endpoints; the global stripe.Key is never used.
func newStripeGateway(key, apiURL string) *stripeGateway {
	// Failures come back as errors and are logged by the app, structured;
	// stripe-go's own logger would print them again, unstructured.
	cfg := &stripe.BackendConfig{MaxNetworkRetries: stripe.Int64(1), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	if apiURL != "" {
		cfg.URL = stripe.String(apiURL)
	}
	return &stripeGateway{api: client.New(key, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	})}
}

type checkoutRequest struct {
	BookingID   string
	AmountCents int64
	Currency    string
	ProductName string
	Email       string
	ExpiresAt   time.Time
	SuccessURL  string
	CancelURL   string
}

func (g *stripeGateway) createCheckout(ctx context.Context, r checkoutRequest) (*stripe.CheckoutSession, error) {
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModePayment)),
		ClientReferenceID: stripe.String(r.BookingID),
		CustomerEmail:     stripe.String(r.Email),
		ExpiresAt:         stripe.Int64(r.ExpiresAt.Unix()),
		SuccessURL:        stripe.String(r.SuccessURL),
		CancelURL:         stripe.String(r.CancelURL),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(r.Currency),
				UnitAmount:  stripe.Int64(r.AmountCents),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String(r.ProductName)},
			},
		}},
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Metadata: map[string]string{"booking_id": r.BookingID},
		},
	}
	params.Context = ctx
	params.AddMetadata("booking_id", r.BookingID)
	// One booking, one session: a retried request gets the same one back.
	params.SetIdempotencyKey("checkout-" + r.BookingID)
	cs, err := g.api.CheckoutSessions.New(params)
	if err != nil {
		return nil, fmt.Errorf("create checkout session: %w", err)
	}
	return cs, nil
}

func (g *stripeGateway) getCheckout(ctx context.Context, id string) (*stripe.CheckoutSession, error) {
	params := &stripe.CheckoutSessionParams{}
	params.Context = ctx
	cs, err := g.api.CheckoutSessions.Get(id, params)
	if err != nil {
		return nil, fmt.Errorf("get checkout session: %w", err)
	}
	return cs, nil
}

func (g *stripeGateway) expireCheckout(ctx context.Context, id string) error {
	params := &stripe.CheckoutSessionExpireParams{}
	params.Context = ctx
	if _, err := g.api.CheckoutSessions.Expire(id, params); err != nil {
		return fmt.Errorf("expire checkout session: %w", err)
	}
	return nil
}

func (g *stripeGateway) refund(ctx context.Context, bookingID, paymentIntent string, cents int64) (*stripe.Refund, error) {
	params := &stripe.RefundParams{PaymentIntent: stripe.String(paymentIntent), Amount: stripe.Int64(cents)}
	params.Context = ctx
	params.AddMetadata("booking_id", bookingID)
	params.SetIdempotencyKey(fmt.Sprintf("refund-%s-%d", bookingID, cents))
	r, err := g.api.Refunds.New(params)
	if err != nil {
		return nil, fmt.Errorf("refund: %w", err)
	}
	return r, nil
}
