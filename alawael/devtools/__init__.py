"""Development tools: demo data (`alawael seed`), routes mounted only under ENV=test or
`make bench`."""
