from case_reviews.cli import app

app(prog_name="reviews")
