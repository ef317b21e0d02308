from axiswatch.cli import app

app(prog_name="axiswatch")
