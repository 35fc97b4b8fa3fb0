package services

import (
	"testing"
	"time"
)

// At most cap(argonSlots) hashes hold their memory at once; the next waits
// for a slot and then answers as usual.
func TestArgonComputationsWaitForASlot(t *testing.T) {
	hash, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	for range cap(argonSlots) {
		argonSlots <- struct{}{}
	}
	matched := make(chan bool, 1)
	go func() {
		ok, _ := PasswordMatches("correct horse battery", hash)
		matched <- ok
	}()
	select {
	case <-matched:
		t.Fatal("a hash ran while every slot was taken")
	case <-time.After(100 * time.Millisecond):
	}
	<-argonSlots
	select {
	case ok := <-matched:
		if !ok {
			t.Fatal("the right password did not match once it had a slot")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a freed slot did not let the waiting hash run")
	}
	for range cap(argonSlots) - 1 {
		<-argonSlots
	}
}
