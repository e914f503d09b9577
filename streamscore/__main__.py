from streamscore.cli.main import main

main()
