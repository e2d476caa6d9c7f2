"""What a web, API, phone or walk-in submission is, and how its parts are checked: pure, no I/O."""
