package services

import "testing"

func TestRuntimeParamJoinsEitherFormOfDatabaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/db?sslmode=disable":           "postgres://u:p@h:5432/db?plan_cache_mode=force_generic_plan&sslmode=disable",
		"postgres://u@h/db?plan_cache_mode=auto":             "postgres://u@h/db?plan_cache_mode=auto",
		"host=h dbname=db sslmode=disable":                   "host=h dbname=db sslmode=disable plan_cache_mode=force_generic_plan",
		"host=h dbname=db plan_cache_mode=force_custom_plan": "host=h dbname=db plan_cache_mode=force_custom_plan",
	} {
		got, err := withRuntimeParam(in, "plan_cache_mode", "force_generic_plan")
		if err != nil || got != want {
			t.Errorf("withRuntimeParam(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
