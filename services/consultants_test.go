package services_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"consultd/internal/pgtest"
	"consultd/services"
)

func TestParseWeeklyHours(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		want  []string
	}{
		{"weekdays two ranges", []string{"mon-fri 09:00-12:00,13:00-17:00"}, []string{
			"mon 09:00-12:00", "tue 09:00-12:00", "wed 09:00-12:00", "thu 09:00-12:00", "fri 09:00-12:00",
			"mon 13:00-17:00", "tue 13:00-17:00", "wed 13:00-17:00", "thu 13:00-17:00", "fri 13:00-17:00"}},
		{"single day", []string{"sat 10:00-14:00"}, []string{"sat 10:00-14:00"}},
		{"wrapping range", []string{"sat-sun 00:00-24:00"}, []string{"sat 00:00-24:00", "sun 00:00-24:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := services.ParseWeeklyHours(tt.specs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d ranges %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i].String() != tt.want[i] {
					t.Errorf("range %d = %s, want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseWeeklyHoursRejects(t *testing.T) {
	for _, spec := range []string{"mon", "xyz 09:00-10:00", "mon 10:00-09:00", "mon 9am-5pm", "mon 09:00-12:00,11:00-13:00", "mon 00:00-24:30"} {
		t.Run(spec, func(t *testing.T) {
			if _, err := services.ParseWeeklyHours([]string{spec}); err == nil {
				t.Fatalf("ParseWeeklyHours(%q) succeeded, want an error", spec)
			}
		})
	}
}

func TestConsultantUpsertIsIdempotent(t *testing.T) {
	db := pgtest.NewDB(t)
	svc := services.NewConsultants(db)
	ctx := context.Background()
	hours, _ := services.ParseWeeklyHours([]string{"mon-fri 09:00-17:00"})
	in := services.NewConsultant{Name: "Ana Silva", Email: "Ana@Example.com", Team: "django", Regions: []string{"usa", "canada"}, Timezone: "America/Toronto", Hours: hours}

	first, created, err := svc.Upsert(ctx, in)
	if err != nil || !created {
		t.Fatalf("first upsert: created=%v err=%v", created, err)
	}
	in.Name = "Ana Silva-Reyes"
	in.Hours = hours[:2]
	second, created, err := svc.Upsert(ctx, in)
	if err != nil || created {
		t.Fatalf("second upsert: created=%v err=%v", created, err)
	}
	if first.ID != second.ID || second.Name != "Ana Silva-Reyes" || second.Email != "ana@example.com" {
		t.Fatalf("second upsert = %+v, want same id with new name and lower-cased email", second)
	}
	got, err := svc.Hours(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Weekday != time.Monday {
		t.Fatalf("hours after replace = %v, want the two given", got)
	}
	if _, err := svc.ByEmail(ctx, "nobody@example.com"); !errors.Is(err, services.ErrNotFound) {
		t.Fatalf("ByEmail(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestConsultantValidation(t *testing.T) {
	db := pgtest.NewDB(t)
	svc := services.NewConsultants(db)
	_, _, err := svc.Upsert(context.Background(), services.NewConsultant{Name: "", Email: "not-an-email", Team: "rails", Regions: []string{"mexico"}, Timezone: "Mars/Olympus"})
	var svcErr *services.Error
	if !errors.As(err, &svcErr) || svcErr.Code != services.CodeInvalid {
		t.Fatalf("error = %v, want an invalid error", err)
	}
	for _, field := range []string{"name", "email", "team", "regions", "timezone"} {
		if svcErr.Fields[field] == "" {
			t.Errorf("no message for field %s", field)
		}
	}
}

func TestSeedDemoIsIdempotent(t *testing.T) {
	db := pgtest.NewDB(t)
	svc := services.NewConsultants(db)
	ctx := context.Background()
	first, err := services.SeedDemo(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	second, err := services.SeedDemo(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	if first.ConsultantsCreated == 0 || second.ConsultantsCreated != 0 || second.ConsultantsUpdated != first.ConsultantsCreated {
		t.Fatalf("first %+v then %+v: want everything created once, then only updated", first, second)
	}
	list, err := svc.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	perTeamRegion := map[string]int{}
	for _, c := range list {
		for _, r := range c.Regions {
			perTeamRegion[c.Team+"/"+r]++
		}
	}
	for _, key := range []string{"django/canada", "django/usa", "nodejs/canada", "nodejs/usa"} {
		if perTeamRegion[key] < 2 {
			t.Errorf("%s has %d demo consultants, want at least 2", key, perTeamRegion[key])
		}
	}
}
