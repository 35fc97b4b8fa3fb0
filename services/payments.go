package services

import (
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// NewStripeClient returns a Stripe API client for key. A non-empty apiURL
// replaces Stripe's endpoints (tests point it at stripe-mock); the global
// stripe.Key is never used, so several clients can coexist.
func NewStripeClient(key, apiURL string) *client.API {
	if apiURL == "" {
		return client.New(key, nil)
	}
	cfg := &stripe.BackendConfig{URL: stripe.String(apiURL), MaxNetworkRetries: stripe.Int64(2)}
	return client.New(key, &stripe.Backends{
		API:     stripe.GetBackendWithConfig(stripe.APIBackend, cfg),
		Connect: stripe.GetBackendWithConfig(stripe.ConnectBackend, cfg),
		Uploads: stripe.GetBackendWithConfig(stripe.UploadsBackend, cfg),
	})
}
