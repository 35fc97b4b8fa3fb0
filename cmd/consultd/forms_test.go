package main

import (
	"net/http"
	"strings"
	"testing"
)

// Only the checkbox's own value is consent; a crafted "false" or "no" is not.
func TestLeadFormConsentIsTheCheckboxValue(t *testing.T) {
	app := startApp(t, map[string]string{"RATE_LIMITS": "off"})
	_, a := postJSON(t, app.URL+"/api/v1/assessments", map[string]any{"answers": firstAnswers(t, app)})
	leadURL := app.URL + "/assessment/" + a["id"].(string) + "/lead"
	for _, value := range []string{"false", "no", "0", "on"} {
		t.Run(value, func(t *testing.T) {
			form := leadValues("Ana Silva", "ana@acme.example.com")
			form.Set("consent", value)
			resp, body := postForm(t, leadURL, form)
			if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "Please tick the box") {
				t.Fatalf("consent=%s = %d, want 422 asking for the box", value, resp.StatusCode)
			}
		})
	}
	if resp, body := postForm(t, leadURL, leadValues("Ana Silva", "ana@acme.example.com")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("consent=yes = %d\n%s", resp.StatusCode, body)
	}
}
