package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"consultd/services"
)

const userUsage = `usage: consultd user <command> [flags]

  add      --email E --role admin|sales|consultant [--name N] [--consultant-email C]
           reads the password from standard input (one line), e.g.
           printf '%s\n' "$PASSWORD" | consultd user add --email ana@example.com --role sales
  list     one account per line
  disable  --email E   stop the account signing in; its open sessions end at once
`

func userCommand(ctx context.Context, cfg config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w\n%s", errUsage, userUsage)
	}
	db, err := services.OpenDB(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := services.NewUsers(db, cfg.SecretKey, cfg.LoginLimits, time.Now)
	switch args[0] {
	case "add":
		return userAdd(ctx, svc, args[1:], stdin, stdout)
	case "list":
		return userList(ctx, svc, stdout)
	case "disable":
		return userDisable(ctx, svc, args[1:], stdout)
	}
	return fmt.Errorf("%w: unknown user command %q\n%s", errUsage, args[0], userUsage)
}

func userAdd(ctx context.Context, svc *services.Users, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var in services.NewUser
	fs.StringVar(&in.Email, "email", "", "")
	fs.StringVar(&in.Role, "role", "", "")
	fs.StringVar(&in.Name, "name", "", "")
	fs.StringVar(&in.ConsultantEmail, "consultant-email", "", "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: %v\n%s", errUsage, err, userUsage)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	in.Password = password
	u, err := svc.Create(ctx, in)
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "created %s (%s)\n", u.Email, u.Role)
	return nil
}

// readPassword takes the first line of stdin; a terminal shows no prompt
// on purpose, so scripts can pipe the password in.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", fmt.Errorf("%w: give the password on standard input", errUsage)
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", fmt.Errorf("%w: give the password on standard input, e.g. printf '%%s\\n' \"$PASSWORD\" | consultd user add --email E --role R", errUsage)
	}
	return password, nil
}

func userList(ctx context.Context, svc *services.Users, stdout io.Writer) error {
	users, err := svc.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tROLE\tSTATE\tLAST SIGN-IN")
	for _, u := range users {
		state, last := "active", "never"
		if u.DisabledAt.Valid {
			state = "disabled"
		}
		if u.LastLoginAt.Valid {
			last = u.LastLoginAt.Time.UTC().Format("2006-01-02 15:04Z")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Email, u.Role, state, last)
	}
	return tw.Flush()
}

func userDisable(ctx context.Context, svc *services.Users, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("user disable", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "")
	if err := fs.Parse(args); err != nil || *email == "" {
		return fmt.Errorf("%w: consultd user disable --email E", errUsage)
	}
	if err := svc.Disable(ctx, *email); err != nil {
		if services.ErrorCode(err) == services.CodeNotFound {
			return fmt.Errorf("no account has the email %s", *email)
		}
		return err
	}
	fmt.Fprintf(stdout, "disabled %s\n", *email)
	return nil
}
