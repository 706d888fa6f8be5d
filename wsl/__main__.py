from wsl.cli.app import main

main()
