package services

import (
	_ "github.com/emersion/go-ical"
	_ "github.com/emersion/go-smtp"
	_ "github.com/wneessen/go-mail"
)
