from sseguard.cli import main

main()
