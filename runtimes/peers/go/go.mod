module tvt/peers/go

go 1.19
