package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// No Docker engine runs where the suite runs, so the compose file and the
// Dockerfile are checked by parsing them.
func TestDockerComposeDefinesDatabaseAndApp(t *testing.T) {
	root, _ := filepath.Abs("../..")
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("consultd", true) })
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	db, err := project.GetService("db")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(db.Image, "postgres:") {
		t.Errorf("db image = %q, want postgres", db.Image)
	}
	if db.HealthCheck == nil || len(db.HealthCheck.Test) == 0 || !strings.Contains(strings.Join(db.HealthCheck.Test, " "), "pg_isready") {
		t.Errorf("db has no pg_isready healthcheck: %+v", db.HealthCheck)
	}
	app, err := project.GetService("app")
	if err != nil {
		t.Fatal(err)
	}
	if app.Build == nil || app.Build.Dockerfile != "Dockerfile" {
		t.Fatalf("app is not built from the Dockerfile: %+v", app.Build)
	}
	if dep, ok := app.DependsOn["db"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("app does not wait for a healthy db: %+v", app.DependsOn)
	}
	dbURL := app.Environment["DATABASE_URL"]
	if dbURL == nil || !strings.Contains(*dbURL, "@db:5432/") {
		t.Errorf("app DATABASE_URL = %v, want the db service", dbURL)
	}
	cfg, err := loadConfig(func(k string) string {
		if v := app.Environment[k]; v != nil {
			return *v
		}
		return ""
	})
	if err != nil {
		t.Errorf("the app's compose environment fails the config check: %v", err)
	}
	if cfg.Addr != ":8080" || len(app.Ports) == 0 || app.Ports[0].Target != 8080 {
		t.Errorf("app listens on %q and publishes %+v", cfg.Addr, app.Ports)
	}
	if strings.Join(app.HealthCheck.Test, " ") != "CMD /consultd healthcheck" {
		t.Errorf("app healthcheck = %v", app.HealthCheck.Test)
	}
}

func TestDockerfileIsMultiStage(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(string(data), -1)
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build and a runtime stage", len(froms))
	}
	if runtime := froms[len(froms)-1][1]; strings.Contains(runtime, "golang") {
		t.Errorf("runtime stage is %s, want a small image", runtime)
	}
	for _, want := range []string{"./cmd/consultd", "COPY --from=build", "USER nonroot"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func TestHealthcheckCommand(t *testing.T) {
	app := startApp(t, nil)
	port := app.URL[strings.LastIndex(app.URL, ":")+1:]
	if err := healthcheck(context.Background(), ":"+port); err != nil {
		t.Fatalf("healthcheck against a running app: %v", err)
	}
	if err := healthcheck(context.Background(), ":1"); err == nil {
		t.Fatal("healthcheck against a closed port succeeded")
	}
}
