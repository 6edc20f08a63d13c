from aurora.cli import main

main()
