from fai_rl.cli.main import main

main()
