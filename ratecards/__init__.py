"""Rate cards: versioned prices per channel, country and category; pricing and estimates."""
