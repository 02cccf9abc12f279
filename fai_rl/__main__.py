from fai_rl.cli import main

main()
